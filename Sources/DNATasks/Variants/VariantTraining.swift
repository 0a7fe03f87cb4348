import FileOutput
import Foundation
import MambaModel
import MambaTrain
import SeqIO

/// `train --task variants`: candidates from alignments with known truth → labelled feature rows →
/// a `VariantModel` directory.
public enum VariantTraining {
    /// One labelled sample: an alignment file, its reference, the truth VCF and optionally the BED of
    /// regions where the truth is complete (candidates elsewhere are not used).
    public struct Dataset {
        public var alignments: String
        public var reference: String
        public var truth: String
        public var confidentRegions: String?
        public init(alignments: String, reference: String, truth: String, confidentRegions: String? = nil) {
            self.alignments = alignments; self.reference = reference; self.truth = truth
            self.confidentRegions = confidentRegions
        }
    }

    public struct Options {
        public var datasets: [Dataset]
        public var output: String
        public var hidden = [32, 32]
        /// The genotyper's training (epochs, batch size, learning rate, weight decay); its seed is `seed`.
        public var genotyper = DenseHeadTrainer()
        public var validationFraction = 0.1
        public var seed: UInt64 = 1
        public var threads = 1
        public var force = false
        public var candidates = CandidateOptions()
        /// Model directory of the DNA encoder whose embeddings become features (`ContextEmbedding`);
        /// `nil`: pileup features only (as the shipped model: on the K. pneumoniae pair the encoder
        /// features cost SNP recall and made calling several times slower).
        public var contextEncoder: String?
        public init(datasets: [Dataset], output: String) { self.datasets = datasets; self.output = output }
    }

    /// Labelled rows of one dataset, plus how many truth alleles inside its regions the candidates cover.
    public static func rows(_ d: Dataset, options: CandidateOptions, threads: Int, embedding: ContextEmbedding? = nil) throws
        -> (x: [Float], y: [Int], truthInRegions: Int, truthFound: Int) {
        let inputs = try VariantInputs(alignments: d.alignments, reference: d.reference, regionsFile: d.confidentRegions)
        let (truth, ploidy) = try TruthVCF.readWithPloidy(path: d.truth, contigs: inputs.contigs, referenceName: d.reference)
        var options = options
        options.ploidy = ploidy
        var byContig: [Int: [Range<Int>]] = [:]
        for r in inputs.regions { byContig[inputs.contigIndex(r.contig)!, default: []].append(r.start..<r.end!) }
        let inRegions = truth.keys.filter { a in byContig[a.contig]?.contains { $0.contains(a.position) } ?? false }.count
        // The chunk workers use the cores: products and encoder kernels run on one thread inside them.
        let chunks = try CandidateGenerator.map(inputs, chunks: inputs.chunks(size: CandidateGenerator.chunkSize),
                                                options: options, threads: threads, embedding: embedding) { _, c in c }
        var x: [Float] = [], y: [Int] = []
        var found = 0
        for c in chunks.joined() {
            let label = truth[c.allele] ?? 0
            if label > 0 { found += 1 }
            x += c.features
            y.append(label)
        }
        return (x, y, inRegions, found)
    }

    /// Builds the training rows of every dataset, trains, and writes the model directory
    /// (`config.json`, `model.safetensors`, `training_summary.json`).
    /// - Throws: `ToolError` / `SeqIOError` naming the file (truth contig not in the reference,
    ///   alignment file without index, output directory exists without `force`, …).
    public static func run(_ o: Options, log: (String) -> Void = { _ in }) throws {
        guard !o.datasets.isEmpty else { throw ToolError(file: "--bam", "no training data given") }
        let fm = FileManager.default
        if fm.fileExists(atPath: o.output) && !o.force {
            throw ToolError(file: o.output, "already exists (use --force to replace it)")
        }
        try OutputPath.validate(o.output, kind: .directory)
        let embedding = try o.contextEncoder.map { try ContextEmbedding(directory: $0) }
        var x: [Float] = [], y: [Int] = []
        var summaries: [[String: Any]] = []
        let started = Date()
        for d in o.datasets {
            let r = try rows(d, options: o.candidates, threads: o.threads, embedding: embedding)
            let counts = (0..<3).map { k in r.y.filter { $0 == k }.count }
            log("\(d.alignments): \(r.y.count) candidates (\(counts[0]) false, \(counts[1]) het, \(counts[2]) hom); "
                + "candidates cover \(r.truthFound) of \(r.truthInRegions) truth alleles in the regions")
            summaries.append(["alignments": d.alignments, "truth": d.truth, "candidates": r.y.count,
                              "class_counts": counts, "truth_in_regions": r.truthInRegions, "truth_in_candidates": r.truthFound])
            x += r.x; y += r.y
        }
        log(String(format: "candidate features of %d datasets in %.1f s", o.datasets.count, Date().timeIntervalSince(started)))
        let model = VariantModel(hidden: o.hidden, seed: o.seed, contextEmbedding: embedding)
        let f = model.featureNames.count
        var rng = SplitMix(o.seed ^ 0x5EED)
        var order = Array(0..<y.count)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        let nVal = Int(Double(y.count) * o.validationFraction)
        func take(_ idx: ArraySlice<Int>) -> ([Float], [Int]) {
            var xs: [Float] = []; xs.reserveCapacity(idx.count * f)
            for i in idx { xs += x[(i * f)..<(i * f + f)] }
            return (xs, idx.map { y[$0] })
        }
        let (vx, vy) = take(order[0..<nVal])
        let (tx, ty) = take(order[nVal...])
        guard !ty.isEmpty else {
            throw ToolError(file: o.datasets[0].alignments, "no candidate sites to train on in the given regions")
        }
        model.setStandardisation(fromRows: tx)
        var trainer = o.genotyper
        trainer.seed = o.seed
        let result = try trainer.train(model, x: model.standardise(tx), y: ty,
                                       validation: (model.standardise(vx), vy)) { event in
            guard case .validation(let step, let r, _) = event else { return }
            let epoch = step / trainer.stepsPerEpoch(rows: ty.count)
            if epoch == 1 || epoch % 5 == 0 {
                log(String(format: "epoch %d: validation loss %.4f, accuracy %.4f", epoch, r.loss, r.accuracy))
            }
        }
        log(String(format: "best epoch %d: validation loss %.4f, accuracy %.4f", result.epochs, result.validationLoss,
                   result.validationAccuracy))
        model.trainingInfo = [
            "datasets": summaries, "train_rows": ty.count, "validation_rows": vy.count, "best_epoch": result.epochs,
            "validation_loss": Double(result.validationLoss), "validation_accuracy": Double(result.validationAccuracy),
            "hidden": o.hidden, "learning_rate": Double(o.genotyper.learningRate), "seed": o.seed,
            "candidate_floors": ["min_alt_reads": o.candidates.minAltReads, "snp_fraction": o.candidates.minSNPFraction,
                                 "indel_fraction": o.candidates.minIndelFraction],
            "local_realignment": o.candidates.realign,
            "haplotype_evidence": o.candidates.haplotypeEvidence.rawValue,
        ]
        if let e = o.contextEncoder {
            model.trainingInfo["context_encoder"] = ["source": e, "flank": ContextEmbedding.flank]
        }
        let summary = try JSONSerialization.data(withJSONObject: model.trainingInfo, options: [.prettyPrinted, .sortedKeys])
        try ClassifierTraining.writeOutput(URL(fileURLWithPath: o.output)) { tmp in
            try model.save(to: tmp.path)
            try summary.write(to: tmp.appendingPathComponent("training_summary.json"))
        }
    }
}

/// The genotyper trains as a dense head on its standardised feature rows.
extension VariantModel: DenseHead {}
