import FileOutput
import Foundation
import SeqIO

/// `annotate --motifs`: PWM scan of reference regions or of the records of a sequence file,
/// written as BED6+ and optionally a FIMO-style TSV (see `MotifOutput`).
public enum MotifAnnotator {
    public struct Options: Sendable {
        /// JASPAR or MEME motif file.
        public var motifs: String
        /// Sequences to scan: FASTA/FASTQ (plain, gzip, BGZF, `-`) or SAM/BAM/CRAM (primary reads
        /// as sequenced). Positions are then on each record. `nil`: scan `reference`.
        public var input: String?
        /// Indexed FASTA (an index is built when missing); scanned when `input` is `nil`, else
        /// only the CRAM reference.
        public var reference: String?
        /// samtools-style regions (1-based inclusive) on `reference`.
        public var regions: [String] = []
        /// BED file of regions (0-based half-open) on `reference`.
        public var regionsFile: String?
        /// Report windows with p-value strictly below this (`.fimo`), or with a score at least the
        /// cutoff of this false-positive rate (`.fpr`); a value above 1 reports every window.
        public var threshold = 1e-4
        public var thresholdRule = PositionWeightMatrix.ThresholdRule.fimo
        /// Also require q-value ≤ this, when set.
        public var qValueThreshold: Double?
        /// `uniform`, `input` (A/C/G/T composition of everything scanned) or a background file.
        public var background = "uniform"
        /// Pseudocount per column: in total, spread by the background (`.spread`, FIMO's rule), or
        /// added to each base (`.perBase`, Biopython's).
        public var pseudocount = 0.1
        public var pseudocountRule = PositionWeightMatrix.PseudocountRule.spread
        public var bothStrands = true
        /// BED output; `nil` or `-` for stdout.
        public var output: String?
        /// FIMO-style TSV output, when set.
        public var tsv: String?
        public var threads = 1
        /// Reference regions are fetched and scanned this many window starts at a time, so a
        /// contig is never held whole.
        public var chunkSize = 1 << 20

        public init(motifs: String) { self.motifs = motifs }
    }

    public struct Summary: Sendable {
        public var motifs = 0
        public var sequences = 0
        public var bases = 0
        /// Windows tested over all motifs and strands.
        public var tested = 0
        public var hits = 0
        public var background: [Double] = []
    }

    /// Runs the scan and writes the outputs (both renamed into place only when everything succeeded).
    /// - Throws: `ToolError` (options, motif or background files, output) or `SeqIOError`
    ///   (sequence input, reference, regions), each one line naming the file.
    @discardableResult
    public static func run(_ o: Options, log: (String) -> Void = { _ in }) throws -> Summary {
        let inputs = [o.motifs] + [o.input, o.reference, o.regionsFile].compactMap { $0 }
        for path in [o.output, o.tsv].compactMap({ $0 }) { try OutputPath.validate(path, inputs: inputs) }
        guard o.threshold > 0, o.threshold.isFinite else { throw ToolError(file: "--thresh", "must be positive, got \(o.threshold)") }
        if let q = o.qValueThreshold, !(q > 0 && q <= 1) { throw ToolError(file: "--qv-thresh", "must be in (0, 1], got \(q)") }
        guard o.pseudocount >= 0, o.pseudocount.isFinite else { throw ToolError(file: "--pseudocount", "must be zero or positive") }
        if o.input != nil && (!o.regions.isEmpty || o.regionsFile != nil) {
            throw ToolError(file: "-r/-R", "regions select parts of the reference (-f); they do not apply to an input file of sequences")
        }
        let (motifs, format) = try MotifFile.read(path: o.motifs)
        let source = try SequenceSource(o)
        let background: Background
        switch o.background {
        case "uniform": background = .uniform
        case "input":
            if o.input == "-" { throw ToolError(file: "--background", "'input' reads the sequences twice and cannot be used with stdin") }
            var comp = BaseComposition()
            try source.forEach { _, bases, _, starts in comp.add(bases.prefix(starts)) }
            background = try .composition(comp.counts, source: "--background input")
        default: background = try Background.read(path: o.background)
        }
        log("\(motifs.count) motif\(motifs.count == 1 ? "" : "s") (\(format.rawValue)) from \(o.motifs); background A \(f3(background.probabilities[0])) C \(f3(background.probabilities[1])) G \(f3(background.probabilities[2])) T \(f3(background.probabilities[3]))")

        let scanner = try MotifScanner(motifs: motifs, background: background, pseudocount: o.pseudocount,
                                       pseudocountRule: o.pseudocountRule, threshold: o.threshold,
                                       thresholdRule: o.thresholdRule, bothStrands: o.bothStrands, threads: o.threads)
        source.overlap = max(0, scanner.maxWidth - 1)
        for e in scanner.entries where e.forwardCutoff == nil && e.reverseCutoff == nil {
            // Short or low-information matrices: even the best word is too common under the background.
            let best = min(e.forward.pValue(scaled: e.forward.maxScaled), e.reverse.pValue(scaled: e.reverse.maxScaled))
            log("warning: \(e.motif.id) \(e.motif.altID): no window can reach p < \(o.threshold) (best possible p = \(MotifOutput.format(probability: best))); it has no hits")
        }
        var summary = Summary(motifs: motifs.count, background: background.probabilities)
        try source.forEach { index, bases, offset, starts in
            bases.withUnsafeBufferPointer { scanner.scan($0, sequence: index, offset: offset, starts: starts) }
            summary.bases += min(starts, bases.count)
        }
        summary.sequences = source.names.count
        summary.tested = scanner.tested.reduce(0, +)
        var hits = scanner.finish()
        if let q = o.qValueThreshold { hits.removeAll { $0.qValue > q } }
        summary.hits = hits.count

        let files = MotifOutputFiles(inputs: inputs)
        do {
            let bed = try files.open(o.output)
            let tsv = try o.tsv.map { try files.open($0) }
            try files.write(bed, MotifOutput.bedHeader + "\n")
            if let tsv { try files.write(tsv, MotifOutput.tsvHeader + "\n") }
            // Lines are gathered in blocks: one write per line is slow on large outputs.
            var bedText = "", tsvText = ""
            for h in hits {
                let name = source.names[h.sequence]
                bedText += MotifOutput.bedLine(h, motif: motifs[h.motif], sequenceName: name)
                if tsv != nil { tsvText += MotifOutput.tsvLine(h, motif: motifs[h.motif], sequenceName: name) }
                if bedText.utf8.count > 1 << 20 {
                    try files.write(bed, bedText); bedText = ""
                    if let tsv { try files.write(tsv, tsvText); tsvText = "" }
                }
            }
            try files.write(bed, bedText)
            if let tsv { try files.write(tsv, tsvText) }
            try files.commit()
        } catch {
            files.abandon()
            throw error
        }
        log("scanned \(summary.sequences) sequence\(summary.sequences == 1 ? "" : "s"), \(summary.bases) bp, \(summary.tested) windows: \(summary.hits) hit\(summary.hits == 1 ? "" : "s") " + (o.thresholdRule == .fimo ? "at p < \(o.threshold)" : "at score ≥ the cutoff of false-positive rate \(o.threshold)") + (o.qValueThreshold.map { ", q ≤ \($0)" } ?? ""))
        return summary
    }

    private static func f3(_ v: Double) -> String { String(format: "%.3f", v) }
}

/// The sequences to scan, each as (index, bases, offset of bases[0], number of window starts to scan).
/// Reference regions come in overlapping chunks so that a contig never has to be held whole.
final class SequenceSource {
    private let options: MotifAnnotator.Options
    private let reference: ReferenceFasta?
    private let regions: [Region]
    /// Sequence names by index: the reference's contigs, or the input's records in order.
    private(set) var names: [String] = []
    /// How far chunks overlap: the widest motif minus one. Set before scanning.
    var overlap = 64

    init(_ o: MotifAnnotator.Options) throws {
        options = o
        if o.input != nil {
            reference = nil
            regions = []
            return
        }
        guard let path = o.reference else {
            throw ToolError(file: "annotate", "nothing to scan: give a sequence file (INPUT) or a reference (-f) with optional -r/-R")
        }
        let ref = try ReferenceFasta(path: path, createIndex: true)
        reference = ref
        var wanted: [Region] = try o.regions.map { try Region.parse($0, contigs: ref.contigs, source: "-r") }
        if let bed = o.regionsFile { wanted += try BEDReader.read(path: bed, contigs: ref.contigs) }
        if o.regions.isEmpty && o.regionsFile == nil {
            wanted = ref.contigs.map { Region(contig: $0.name, start: 0, end: $0.length) }
        }
        regions = Self.merged(wanted, contigs: ref.contigs)
        names = ref.contigs.map(\.name)
    }

    /// Regions sorted by contig (reference order) and start, overlapping or touching ones joined,
    /// so that no window is scanned twice.
    static func merged(_ regions: [Region], contigs: [Contig]) -> [Region] {
        let order = Dictionary(contigs.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
        let lengths = Dictionary(contigs.map { ($0.name, $0.length) }, uniquingKeysWith: { a, _ in a })
        let sorted = regions.map { $0.clamped(toLength: lengths[$0.contig] ?? 0) }
            .filter { ($0.end ?? 0) > $0.start }
            .sorted { (order[$0.contig]!, $0.start) < (order[$1.contig]!, $1.start) }
        var out: [Region] = []
        for r in sorted {
            if let last = out.last, last.contig == r.contig, r.start <= last.end! {
                out[out.count - 1].end = max(last.end!, r.end!)
            } else {
                out.append(r)
            }
        }
        return out
    }

    /// Calls `body(index, bases, offset, starts)` for every chunk or record.
    func forEach(_ body: (Int, [UInt8], Int, Int) throws -> Void) throws {
        if let input = options.input {
            var index = 0
            let fresh = names.isEmpty
            try ReadSource.forEach(input, reference: options.reference) { read in
                if fresh { names.append(read.name) }
                try body(index, read.bases, 0, read.bases.count)
                index += 1
            }
            return
        }
        guard let reference else { return }
        let contigIndex = Dictionary(reference.contigs.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
        let step = max(1, options.chunkSize)
        for r in regions {
            var start = r.start
            let end = r.end!
            while start < end {
                let chunkEnd = min(end, start + step + overlap)
                let bases = try reference.fetch(Region(contig: r.contig, start: start, end: chunkEnd))
                try body(contigIndex[r.contig]!, bases, start, min(step, end - start))
                start += step
            }
        }
    }
}
