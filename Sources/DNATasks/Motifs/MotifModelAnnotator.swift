import FileOutput
import Foundation
import MambaModel
import SeqIO

/// `annotate --motif-model`: a learned binding model (`MotifModel`) over the records of a sequence file or
/// over reference regions, written as
///
/// - a bedGraph (0-based half-open, one `track` line, then `chrom start end score`): the per-base score,
///   the bound-minus-background logit contribution of each base; runs of bases whose printed score is
///   the same are joined into one line;
/// - optionally a TSV, `sequence_name length bound_probability logit`: per record, or per reference
///   window (named `chr:beg-end`, 1-based inclusive), the probability of the bound class and its logit
///   (the mean of the window's track for mean pooling; see `MotifModel` for max and logsumexp).
///
/// Records are scored whole. Reference regions are cut into consecutive windows of `window` bases
/// (the last one shorter), each scored as one sequence, as the model was trained on short windows.
public enum MotifModelAnnotator {
    public struct Options: Sendable {
        /// Model directory from `train --task motif`.
        public var model: String
        /// FASTA/FASTQ (plain, gzip, BGZF, `-`) or SAM/BAM/CRAM; `nil`: score `reference`.
        public var input: String?
        public var reference: String?
        /// samtools-style regions (1-based inclusive) on `reference`.
        public var regions: [String] = []
        /// BED file of regions (0-based half-open) on `reference`.
        public var regionsFile: String?
        /// bedGraph output; `nil` or `-` for stdout.
        public var output: String?
        /// Per-sequence TSV, when set.
        public var tsv: String?
        /// Reference window length.
        public var window = 200
        /// Bases per bedGraph line: each line holds the mean score of that many bases (the last of a record
        /// fewer); 1 = per base. Neighbouring lines whose printed values are equal are joined either way.
        public var bedGraphResolution = 1
        public var threads = 1
        /// Arithmetic of the encoder's projections; bf16 falls back to fp32 (with a note) on a CPU without it.
        public var precision: Precision = .default
        /// Score only this part (records by index; reference windows balanced by bases) and write its manifest
        /// beside `output`.
        public var shard: Shard?
        public init(model: String) { self.model = model }
    }

    public struct Summary: Sendable {
        public var sequences = 0
        public var bases = 0
        /// Sequences (records or windows) with a bound probability above 0.5.
        public var bound = 0
    }

    /// Scores everything and writes the outputs (renamed into place only when everything succeeded).
    /// - Throws: `ToolError` (options, model directory, output) or `SeqIOError` (input, reference,
    ///   regions), each one line naming the file.
    @discardableResult
    public static func run(_ o: Options, log: (String) -> Void = { _ in }) throws -> Summary {
        let inputs = [o.input, o.reference, o.regionsFile].compactMap { $0 }
        for path in [o.output, o.tsv].compactMap({ $0 }) { try OutputPath.validate(path, inputs: inputs) }
        guard o.window >= 1 else { throw ToolError(file: "--window", "must be at least 1, got \(o.window)") }
        if o.input != nil && (!o.regions.isEmpty || o.regionsFile != nil) {
            throw ToolError(file: "-r/-R", "regions select parts of the reference (-f); they do not apply to an input file of sequences")
        }
        if o.input == nil && o.reference == nil {
            throw ToolError(file: "annotate", "nothing to score: give a sequence file (INPUT) or a reference (-f) with optional -r/-R")
        }
        let bigWigPath = o.output.flatMap { p in [".bw", ".bigwig"].contains { p.lowercased().hasSuffix($0) } ? p : nil }
        if o.shard != nil {
            if bigWigPath != nil { throw ToolError(file: "--shard", "parts are merged as bedGraph, not bigWig: write .bedgraph parts") }
            if o.tsv == "-" { throw ToolError(file: "--shard", "--tsv needs a file in a part run") }
            try ShardManifest.prepare(output: o.output)
        }
        let model = try MotifModel.load(o.model)
        var precision = o.precision
        if let why = model.classifier.usePrecision(o.precision).fallbackReason { log("--precision bf16: running fp32 (\(why))"); precision = .fp32 }
        log("motif model \(o.model): classes \(model.classifier.labels.joined(separator: ", ")), bound = \(model.boundLabel)"
            + (model.classifier.rcAverage ? ", strands averaged" : ""))
        var summary = Summary()
        var shardRange: ShardRange?
        let files = MotifOutputFiles(inputs: inputs)
        // `-o x.bw` / `x.bigwig`: the same runs as the bedGraph, written as a bigWig at the end.
        var bigWig = BigWigTrack()
        do {
            let graph = bigWigPath == nil ? try files.open(o.output) : nil
            let tsv = try o.tsv.map { try files.open($0) }
            let name = URL(fileURLWithPath: o.model).standardizedFileURL.lastPathComponent
            if let graph {
                try files.write(graph, "track type=bedGraph name=\"\(name)\" description=\"per-base \(model.boundLabel) score (logit contribution)\"\n")
            }
            if let tsv { try files.write(tsv, "sequence_name\tlength\tbound_probability\tlogit\n") }
            var pending: [Piece] = []
            var pendingBases = 0
            func flush() throws {
                guard !pending.isEmpty else { return }
                let scored = pending.indices.filter { !pending[$0].tokens.isEmpty }
                let scores = model.scores(scored.map { pending[$0].tokens }, threads: o.threads)
                var graphText = "", tsvText = ""
                var k = 0
                for piece in pending {
                    summary.sequences += 1
                    guard !piece.tokens.isEmpty else {
                        tsvText += "\(piece.name)\t0\tNA\tNA\n"
                        continue
                    }
                    let track = scores[k].track, logit = scores[k].logit
                    k += 1
                    summary.bases += track.count
                    let p = MotifModel.probability(logit: logit)
                    if p > 0.5 { summary.bound += 1 }
                    tsvText += "\(piece.name)\t\(track.count)\t\(String(format: "%.6g", p))\t\(String(format: "%.6g", logit))\n"
                    if bigWigPath != nil {
                        try bigWig.add(bedGraphRuns(track, resolution: o.bedGraphResolution), chrom: piece.chrom,
                                       offset: piece.offset, chromLength: o.input == nil ? nil : piece.tokens.count)
                    } else {
                        graphText += bedGraphLines(track, chrom: piece.chrom, offset: piece.offset, resolution: o.bedGraphResolution)
                    }
                }
                if let graph { try files.write(graph, graphText) }
                if let tsv { try files.write(tsv, tsvText) }
                pending.removeAll(keepingCapacity: true)
                pendingBases = 0
            }
            // Several batches per worker between writes, so reading and formatting stay a small share.
            let flushBases = 8192 * max(1, o.threads) * 8
            shardRange = try forEachPiece(o) { piece in
                pending.append(piece)
                pendingBases += piece.tokens.count
                if pendingBases >= flushBases { try flush() }
            }
            try flush()
            if let bigWigPath {
                if o.input == nil { bigWig.lengths = try ReferenceFasta(path: o.reference!).contigs.reduce(into: [:]) { $0[$1.name] = $1.length } }
                try bigWig.write(bigWigPath, inputs: inputs)
            }
            try files.commit()
        } catch {
            files.abandon()
            throw error
        }
        if let shardRange, let output = o.output {
            let settings = ["model=" + ShardManifest.model(o.model), "window=\(o.window)",
                            "resolution=\(o.bedGraphResolution)", "precision=\(precision.rawValue)", "tsv=\(o.tsv != nil)",
                            "reference=\(o.reference ?? "-")",
                            "regions=" + ShardManifest.digest(text: o.regions.joined(separator: ",") + "|" + (o.regionsFile ?? ""))]
            var m = try ShardManifest(task: "annotate-motif-model", format: "bedgraph", settings: settings.joined(separator: " "),
                                      input: o.input ?? o.reference!, range: shardRange, output: output)
            if let tsv = o.tsv {
                let path = URL(fileURLWithPath: tsv).standardizedFileURL.path
                m.table = path
                m.companions[path] = ShardManifest.size(path) ?? -1
            }
            try m.write(beside: output)
            log(shardRange.text)
        }
        log("scored \(summary.sequences) sequence\(summary.sequences == 1 ? "" : "s"), \(summary.bases) bp: \(summary.bound) with P(\(model.boundLabel)) > 0.5")
        return summary
    }

    /// One scored unit: a record, or a reference window.
    struct Piece {
        /// bedGraph chrom and the 0-based position of the first base on it.
        var chrom: String
        var offset: Int
        /// TSV name.
        var name: String
        var tokens: [Int32]
    }

    /// bedGraph lines of a track: bins of `resolution` bases (the last one shorter) holding their mean score, and
    /// neighbouring bins whose printed values are equal joined into one line.
    static func bedGraphLines(_ track: [Float], chrom: String, offset: Int, resolution: Int = 1) -> String {
        bedGraphRuns(track, resolution: resolution).map { "\(chrom)\t\(offset + $0.start)\t\(offset + $0.end)\t\($0.value)\n" }.joined()
    }

    /// The runs behind `bedGraphLines`: 0-based half-open positions on the track and the printed value.
    static func bedGraphRuns(_ track: [Float], resolution: Int = 1) -> [(start: Int, end: Int, value: String)] {
        guard !track.isEmpty else { return [] }
        let r = max(1, resolution)
        // Bin b covers [b·r, min((b + 1)·r, L)).
        let bins = (track.count + r - 1) / r
        func printed(_ b: Int) -> String {
            let lo = b * r, hi = min(lo + r, track.count)
            var sum = 0.0
            for t in lo..<hi { sum += Double(track[t]) }
            return String(format: "%.4f", sum / Double(hi - lo))
        }
        var runs: [(start: Int, end: Int, value: String)] = []
        var start = 0, value = printed(0)
        for b in 1...bins {
            let next = b < bins ? printed(b) : nil
            if next != value {
                runs.append((start, min(b * r, track.count), value))
                start = b * r
                if let next { value = next }
            }
        }
        return runs
    }

    /// The runs of a whole annotation, gathered for one bigWig (which needs every sequence's length up front).
    struct BigWigTrack {
        var chromosomes: [String] = []
        var index: [String: Int] = [:]
        /// Sequence lengths: records' own (added as they come), or the reference's contigs (set before `write`).
        var lengths: [String: Int] = [:]
        var intervals: [BigWigWriter.Interval] = []

        /// `chromLength`: the record's length (records); nil for reference windows.
        mutating func add(_ runs: [(start: Int, end: Int, value: String)], chrom: String, offset: Int,
                          chromLength: Int?) throws {
            let c: Int
            if let known = index[chrom] {
                if chromLength != nil { throw ToolError(file: chrom, "two records with this name: a bigWig needs unique sequence names") }
                c = known
            } else {
                c = chromosomes.count
                chromosomes.append(chrom)
                index[chrom] = c
                if let chromLength { lengths[chrom] = chromLength }
            }
            for r in runs {
                intervals.append(.init(chromosome: c, start: offset + r.start, end: offset + r.end, value: Float(r.value)!))
            }
        }

        func write(_ path: String, inputs: [String]) throws {
            try BigWigWriter.write(path: path, chromosomes: chromosomes.map { ($0, lengths[$0] ?? 0) }, intervals: intervals,
                                   inputs: inputs)
        }
    }

    /// Records of the input, or windows of the reference regions, in order (of part `o.shard` only, when set:
    /// records by index; windows whose midpoints fall in the part's share of the regions' bases).
    @discardableResult
    static func forEachPiece(_ o: Options, _ body: (Piece) throws -> Void) throws -> ShardRange? {
        if let input = o.input {
            return try ReadSource.forEach(input, reference: o.reference, shard: o.shard) { read in
                try body(Piece(chrom: read.name, offset: 0, name: read.name, tokens: DNATokenizer.encode(read.bases)))
            }
        }
        let ref = try ReferenceFasta(path: o.reference!, createIndex: true)
        var wanted: [Region] = try o.regions.map { try Region.parse($0, contigs: ref.contigs, source: "-r") }
        if let bed = o.regionsFile { wanted += try BEDReader.read(path: bed, contigs: ref.contigs) }
        if o.regions.isEmpty && o.regionsFile == nil {
            wanted = ref.contigs.map { Region(contig: $0.name, start: 0, end: $0.length) }
        }
        let regions = SequenceSource.merged(wanted, contigs: ref.contigs)
        // The part's share of the bases [lo, hi) on the regions laid end to end: a window belongs to the part
        // holding its midpoint (2·midpoint compared with 2·bounds, in integers).
        let totalBases = regions.reduce(0) { $0 + ($1.end! - $1.start) }
        let (lo2, hi2) = o.shard.map { s in (2 * totalBases * (s.index - 1) / s.count, 2 * totalBases * s.index / s.count) }
            ?? (0, 2 * totalBases + 1)
        func inPart(_ globalStart: Int, _ length: Int) -> Bool {
            let mid2 = 2 * globalStart + length
            return mid2 >= lo2 && mid2 < hi2
        }
        var windowIndex = 0, first = -1, end = -1, global = 0
        // A megabase-sized block is fetched at a time, then cut into windows.
        let block = max(o.window, (1 << 20) / o.window * o.window)
        for r in regions {
            var start = r.start
            while start < r.end! {
                let blockEnd = min(r.end!, start + block)
                let n = (blockEnd - start + o.window - 1) / o.window
                let lastLength = blockEnd - start - (n - 1) * o.window
                let blockGlobal = global + start - r.start
                // Skip the fetch when no window of the block is in the part (midpoints increase along the block).
                let anyIn = !(2 * (blockGlobal + (n - 1) * o.window) + lastLength < lo2 || 2 * blockGlobal + min(o.window, blockEnd - start) >= hi2)
                if anyIn {
                    let bases = try ref.fetch(Region(contig: r.contig, start: start, end: blockEnd))
                    var w = 0, k = 0
                    while w < bases.count {
                        let e = min(bases.count, w + o.window)
                        if inPart(blockGlobal + w, e - w) {
                            if first < 0 { first = windowIndex + k }
                            end = windowIndex + k + 1
                            let name = "\(r.contig):\(start + w + 1)-\(start + e)"
                            try body(Piece(chrom: r.contig, offset: start + w, name: name, tokens: DNATokenizer.encode(bases[w..<e])))
                        }
                        w = e; k += 1
                    }
                }
                windowIndex += n
                start = blockEnd
            }
            global += r.end! - r.start
        }
        guard let shard = o.shard else { return nil }
        // An empty part sits where the windows before it end.
        if first < 0 {
            first = 0
            // Count the windows whose midpoints lie before the part.
            var g = 0, idx = 0
            for r in regions {
                var s = r.start
                while s < r.end! {
                    let e = min(r.end!, s + o.window)
                    if 2 * (g + s - r.start) + (e - s) < lo2 { idx += 1 }
                    s = e
                }
                g += r.end! - r.start
            }
            first = idx; end = idx
        }
        return ShardRange(shard: shard, first: first, end: end, total: windowIndex, unit: "windows")
    }
}
