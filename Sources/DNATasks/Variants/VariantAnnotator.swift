import FileOutput
import Foundation
import MambaModel
import SeqIO

/// `annotate` for alignments: pileup candidates → classifier → VCF 4.3.
public enum VariantAnnotator {
    public struct Options {
        /// SAM/BAM/CRAM, coordinate-sorted and indexed.
        public var alignments: String
        /// Indexed FASTA (`.fai`) matching the alignment header (names and lengths).
        public var reference: String
        /// `-r` regions, samtools syntax (1-based inclusive).
        public var regions: [String] = []
        /// `-R` BED file (0-based half-open).
        public var regionsFile: String?
        /// `.vcf`, `.vcf.gz` (+ `.tbi`), `.bcf` (+ `.csi`) or `-`.
        public var output: String
        /// Model directory; `nil` = the shipped default.
        public var model: String?
        public var ploidy = 1
        public var threads = 1
        /// VCF sample name; `nil` = the read groups' `SM` when they name one sample, else the file name's stem.
        public var sample: String?
        /// QUAL below which calls are marked `LowQual` (still reported).
        public var lowQual: Float = 20
        /// Haploid calls need at least this share of the reads on the allele (`Genotyper.call`).
        public var haploidMinFraction = Genotyper.haploidMinFraction
        /// Also write the candidates the genotyper rejects, as reference calls with FILTER `RefCall`
        /// (to see which sites were candidates and how close they came).
        public var allCandidates = false
        public var candidates = CandidateOptions()
        public var commandLine: String?
        /// Call only this part of the regions' 100 kb chunks (contiguous, balanced by bases) and write its
        /// manifest beside `output`.
        public var shard: Shard?

        public init(alignments: String, reference: String, output: String) {
            self.alignments = alignments
            self.reference = reference
            self.output = output
        }
    }

    /// Whether `path` is an alignment file (SAM/BAM/CRAM by content), i.e. input for variant calling.
    public static func isAlignmentFile(_ path: String) -> Bool {
        (try? DetectedFormat.detect(path: path).format.isAlignment) ?? false
    }

    /// Why `path` cannot be an alignment input (one line naming it), or nil when it is one. The format is read
    /// from the content, not the name.
    public static func alignmentInputProblem(_ path: String) -> String? {
        if path == "-" {
            // Reading stdin to detect its format would consume it, and the caller needs an index anyway.
            return "-: variant calls need an indexed SAM/BAM/CRAM file, and stdin cannot be indexed: write it to a "
                + "file and run samtools index on it"
        }
        do {
            let format = try DetectedFormat.detect(path: path).format
            if format.isAlignment { return nil }
            let what = format == .other ? "unrecognised content" : format.rawValue
            return "\(path): not a SAM/BAM/CRAM file (\(what)); variant calls need an alignment file, and sequences "
                + "are annotated with --motifs FILE or --motif-model DIR"
        } catch {
            return ErrorText.describe(error)
        }
    }

    /// Calls variants and writes the VCF. Progress lines go to `log`.
    /// - Throws: `ToolError` / `SeqIOError` with one-line descriptions naming the file (alignment
    ///   file without index, reference not matching the alignment header, unreadable model, …); no
    ///   output file is left behind on error.
    public static func run(_ o: Options, log: (String) -> Void = { _ in }) throws {
        guard o.ploidy == 1 || o.ploidy == 2 else { throw ToolError(file: "--ploidy", "must be 1 or 2") }
        if o.alignments == "-", let problem = alignmentInputProblem("-") { throw ToolError(problem) }
        let inputFiles = [o.alignments, o.reference] + (o.regionsFile.map { [$0] } ?? [])
        try OutputPath.validate(o.output, inputs: inputFiles)
        let inputs = try VariantInputs(alignments: o.alignments, reference: o.reference,
                                       regionTexts: o.regions, regionsFile: o.regionsFile)
        let modelPath = o.model ?? DefaultModels.variants()
        guard let modelPath else {
            throw ToolError(file: "--variant-model", "no model given and no default variant model found (Fixtures/models/variants)")
        }
        if o.shard != nil { try ShardManifest.prepare(output: o.output) }
        let model = try VariantModel(directory: modelPath)
        let allChunks = inputs.chunks(size: CandidateGenerator.chunkSize)
        var chunks = allChunks
        var shardRange: ShardRange?
        if let shard = o.shard {
            let part = shard.items(lengths: allChunks.map { $0.end! - $0.start })
            chunks = Array(allChunks[part])
            shardRange = ShardRange(shard: shard, first: part.lowerBound, end: part.upperBound, total: allChunks.count, unit: "chunks")
        }
        var candidateOptions = o.candidates
        candidateOptions.ploidy = o.ploidy
        var calibration = model.qualCalibration
        if let why = calibration?.mismatch(candidateOptions) {
            log("note: " + why)
            calibration = nil
        }
        let started = Date()
        // The workers already use every core: products and encoder kernels run on one thread inside them.
        let perChunk = try CandidateGenerator.map(inputs, chunks: chunks, options: candidateOptions, threads: o.threads,
                                                  embedding: model.contextEmbedding) { _, candidates in
            let probs = model.probabilities(features: candidates.flatMap(\.features), rows: candidates.count)
            return candidates.indices.compactMap { i in
                let p = probs[(3 * i)..<(3 * i + 3)]
                return Genotyper.call(candidates[i], probabilities: p, ploidy: o.ploidy,
                                      haploidMinFraction: o.haploidMinFraction, calibration: calibration)
                    ?? (o.allCandidates ? Genotyper.refCall(candidates[i], probabilities: p, ploidy: o.ploidy) : nil)
            }
        }
        let calls = Genotyper.mergeSites(perChunk.flatMap { $0 }, ploidy: o.ploidy)
        let sample = o.sample ?? Self.sampleName(inputs, log: log)
        let header = VCFWriter.Header(contigs: inputs.contigs, reference: o.reference, sample: sample,
                                      source: "mamba-dna \(ToolVersion.current) annotate (variant model \(modelPath))", commandLine: o.commandLine)
        try VCFWriter.write(calls, header: header, to: o.output, lowQual: o.lowQual, refCalls: o.allCandidates,
                            threads: o.threads, inputs: inputFiles)
        if let shardRange {
            let regions = allChunks.map { "\($0.contig):\($0.start)-\($0.end!)" }.joined(separator: ",")
            let settings = ["model=" + ShardManifest.model(modelPath), "reference=\(o.reference)",
                            "regions=" + ShardManifest.digest(text: regions), "ploidy=\(o.ploidy)", "sample=\(sample)",
                            "low_qual=\(o.lowQual)", "haploid_min_fraction=\(o.haploidMinFraction)",
                            "all_candidates=\(o.allCandidates)", "candidates=\(o.candidates)"].joined(separator: " ")
            let m = try ShardManifest(task: "annotate", format: "vcf", settings: settings, input: o.alignments,
                                      range: shardRange, output: o.output)
            try m.write(beside: o.output)
            log(shardRange.text)
        }
        let bp = chunks.reduce(0) { $0 + ($1.end! - $1.start) }
        let variants = calls.filter { !$0.isRefCall }
        log("\(variants.count) variants (\(variants.filter { $0.allele.isSNP }.count) SNPs"
            + (o.allCandidates ? ", \(calls.count - variants.count) reference calls" : "") + ") over \(bp) bp in \(chunks.count) chunks, "
            + String(format: "%.1f s", Date().timeIntervalSince(started)))
    }

    /// The sample column's name when none is given: the `SM` of the read groups when they name
    /// exactly one sample (as bcftools names it), else the alignment file's name without extension
    /// (reads of several samples are called as one; a note says so).
    static func sampleName(_ inputs: VariantInputs, log: (String) -> Void) -> String {
        if inputs.sampleNames.count == 1 { return inputs.sampleNames[0] }
        let stem = URL(fileURLWithPath: inputs.alignments).deletingPathExtension().lastPathComponent
        if inputs.sampleNames.count > 1 {
            log("note: \(inputs.alignments) has read groups of \(inputs.sampleNames.count) samples "
                + "(\(inputs.sampleNames.joined(separator: ", "))); their reads are called as one sample, '\(stem)'")
        }
        return stem
    }
}
