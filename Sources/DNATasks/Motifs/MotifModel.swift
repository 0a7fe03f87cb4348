import Foundation
import MambaModel

/// A learned binding model: a two-class `SequenceClassifier` (Mamba backbone → pooling → linear head),
/// trained by `train --task motif`, whose `config.json` also holds `"task": "motif"` and `"bound_label"`,
/// the class that means "bound".
///
/// **Per-base score.** Mean pooling: the head is linear after the mean, so the bound-minus-background
/// logit of a sequence is the mean over positions of `z[t] = (W_bound − W_other)·h[t] + (b_bound − b_other)`.
/// `z[t]` is the per-base score: with reverse-complement averaging (as the model was saved),
/// `track[t] = ½(z_fwd[t] + z_rc[L−1−t])`, and the sequence logit is exactly the mean of the track.
///
/// Max / logsumexp pooling: the classifier pools its per-position logits `z[t, c]` per class, so a strand's
/// logit is `pool_t z[t, bound] − pool_t z[t, other]`. A strand's per-base score is the per-position bound
/// logit less the pooled background one, `s[t] = z[t, bound] − pool_t z[t, other]`; both poolings commute
/// with subtracting a constant, so the strand's logit is exactly `pool_t s[t]`. With strand averaging the
/// track is `½(s_fwd[t] + s_rc[L−1−t])` and the sequence logit `½(pool s_fwd + pool s_rc)`, the classifier's
/// own average of the two strands' pooled logits (the encoder reads one way, so a site peaks at its
/// last base on one strand and at its first on the other: pooling the averaged track would halve it).
///
/// Either way `scores` gives the track and the sequence logit, and the binding probability `σ(logit)`
/// equals what `classify` reports for the bound class.
public final class MotifModel {
    public let classifier: SequenceClassifier
    public let boundLabel: String
    /// Index of `boundLabel` in `classifier.labels`.
    public let boundIndex: Int

    public init(classifier: SequenceClassifier, boundLabel: String) throws {
        guard classifier.classCount == 2, let k = classifier.labels.firstIndex(of: boundLabel) else {
            throw ToolError(file: "motif model", "needs two classes, one of them '\(boundLabel)'; has \(classifier.labels)")
        }
        self.classifier = classifier
        self.boundLabel = boundLabel
        boundIndex = k
    }

    /// Loads a model directory written by `train --task motif`.
    /// - Throws: `ToolError` naming the directory or its `config.json` when it is missing, unreadable,
    ///   not a classifier, or not a motif model; checkpoint errors (one line, naming the file) otherwise.
    public static func load(_ directory: String) throws -> MotifModel {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw ToolError(file: directory, "no such model directory")
        }
        guard isDirectory.boolValue else { throw ToolError(file: directory, "not a directory (a motif model is a directory)") }
        let configPath = URL(fileURLWithPath: directory).appendingPathComponent("config.json").path
        guard let data = FileManager.default.contents(atPath: configPath) else {
            throw ToolError(file: configPath, "missing or unreadable")
        }
        guard let config = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ToolError(file: configPath, "not a JSON object")
        }
        guard config["task"] as? String == "motif", let bound = config["bound_label"] as? String else {
            throw ToolError(file: configPath, "not a motif model (no \"task\": \"motif\" and \"bound_label\"; train one with `train --task motif`)")
        }
        let classifier = try ClassifierDirectory.load(directory)
        do { return try MotifModel(classifier: classifier, boundLabel: bound) }
        catch let e as ToolError { throw ToolError(file: configPath, e.problem) }
    }

    /// The `config.json` entries `train --task motif` adds, for the classes found in the training input.
    /// - Parameter bound: the bound class; default `1` when the classes are `0` and `1`, else `bound`.
    /// - Throws: `ToolError` unless there are exactly two classes and the bound one is among them.
    public static func trainingConfig(labels: [String], bound: String?) throws -> [String: Any] {
        guard labels.count == 2 else {
            throw ToolError(file: "--task motif", "needs exactly two classes (bound and background), the input has \(labels.count): \(labels.joined(separator: ", "))")
        }
        let name = bound ?? (labels == ["0", "1"] ? "1" : "bound")
        guard labels.contains(name) else {
            throw ToolError(file: "--bound-label", "'\(name)' is not one of the classes (\(labels.joined(separator: ", "))); name the bound class with --bound-label")
        }
        return ["task": "motif", "bound_label": name]
    }

    /// A sequence's per-base score track and its bound-minus-background logit.
    public struct Score: Sendable {
        public var track: [Float]
        public var logit: Float
    }

    /// Per-base score tracks (see the type's comment), one per sequence, in input order.
    public func tracks(_ sequences: [[Int32]], threads: Int = 1, batchTokens: Int = 8192) -> [[Float]] {
        scores(sequences, threads: threads, batchTokens: batchTokens).map(\.track)
    }

    /// Tracks and sequence logits (see the type's comment), one per sequence, in input order; each sequence
    /// must have at least one token. Sequences are packed into batches of about `batchTokens` rows that
    /// `threads` workers run with single-threaded kernels; results do not depend on `threads`.
    public func scores(_ sequences: [[Int32]], threads: Int = 1, batchTokens: Int = 8192) -> [Score] {
        let batches = ClassifierPredictor.batchRanges(sequences, batchTokens: batchTokens)
        var out = [Score](repeating: Score(track: [], logit: 0), count: sequences.count)
        let workers = max(1, min(threads, batches.count))
        let lock = NSLock()
        // One-thread kernels in every worker (`scores(batch:)`), even when there is one worker.
        Parallel.run(workers) { w in
            for b in stride(from: w, to: batches.count, by: workers) {
                let range = batches[b]
                let result = self.scores(batch: range.map { sequences[$0] })
                lock.lock()
                for (k, i) in range.enumerated() { out[i] = result[k] }
                lock.unlock()
            }
        }
        return out
    }

    /// The pool of a track (the mean accumulated in Double, the max, or the log-mean-exp): the sequence
    /// logit for mean pooling, and for the other poolings that of a single strand's track.
    public func logit(track: [Float]) -> Float {
        guard classifier.pooling != .mean, !track.isEmpty else {
            return Float(track.reduce(0.0) { $0 + Double($1) } / Double(max(track.count, 1)))
        }
        var y: Float = 0
        track.withUnsafeBufferPointer { classifier.pooling.forward(z: $0.baseAddress!, rows: track.count, classes: 1, y: &y) }
        return y
    }

    /// σ(logit), the probability of the bound class.
    public static func probability(logit: Float) -> Float { 1 / (1 + Foundation.exp(-logit)) }

    /// Tracks and logits of one packed batch, on the calling thread.
    private func scores(batch: [[Int32]]) -> [Score] {
        let lengths = batch.map(\.count)
        if classifier.pooling != .mean { return pooledScores(batch: batch, lengths: lengths) }
        return meanTracks(batch: batch, lengths: lengths).map { Score(track: $0, logit: logit(track: $0)) }
    }

    private func meanTracks(batch: [[Int32]], lengths: [Int]) -> [[Float]] {
        let forward = baseScores(Array(batch.joined()), lengths)
        guard classifier.rcAverage else { return split(forward, lengths) }
        // The packed buffer's reverse complement holds the sequences' reverse complements in reverse order.
        let reverse = baseScores(DNATokenizer.reverseComplement(Array(batch.joined())), lengths.reversed())
        var out: [[Float]] = []
        var row = 0
        let total = forward.count
        for n in lengths {
            // Position t of this sequence is row (total − 1 − (row + t)) of the reversed buffer.
            out.append((0..<n).map { t in 0.5 * (forward[row + t] + reverse[total - 1 - row - t]) })
            row += n
        }
        return out
    }

    /// Max / logsumexp pooling: per strand s[t] = z[t, bound] − pool_t z[t, other]; strands averaged per
    /// position for the track and after pooling for the logit.
    private func pooledScores(batch: [[Int32]], lengths: [Int]) -> [Score] {
        let forward = strandTracks(Array(batch.joined()), lengths)
        guard classifier.rcAverage else { return forward.map { Score(track: $0, logit: logit(track: $0)) } }
        // The packed buffer's reverse complement holds the sequences' reverse complements in reverse order.
        let reverse = Array(strandTracks(DNATokenizer.reverseComplement(Array(batch.joined())), lengths.reversed()).reversed())
        return zip(forward, reverse).map { f, r in
            let n = f.count
            return Score(track: (0..<n).map { 0.5 * (f[$0] + r[n - 1 - $0]) }, logit: 0.5 * (logit(track: f) + logit(track: r)))
        }
    }

    /// s[t] = z[t, bound] − pool_t z[t, other] of every sequence of a packed buffer, on the strand given.
    private func strandTracks(_ tokens: [Int32], _ lengths: [Int]) -> [[Float]] {
        let z = classifier.positionLogits(packed: tokens, lengths: lengths)
        let other = 1 - boundIndex
        var out: [[Float]] = [], row = 0
        for n in lengths {
            let column = (0..<n).map { z[(row + $0) * 2 + other] }
            var background: Float = 0
            column.withUnsafeBufferPointer { classifier.pooling.forward(z: $0.baseAddress!, rows: n, classes: 1, y: &background) }
            out.append((0..<n).map { t in z[(row + t) * 2 + boundIndex] - background })
            row += n
        }
        return out
    }

    private func split(_ scores: [Float], _ lengths: [Int]) -> [[Float]] {
        var out: [[Float]] = [], row = 0
        for n in lengths { out.append(Array(scores[row..<(row + n)])); row += n }
        return out
    }

    /// z[t] for every row of a packed buffer: the hidden states times the head's bound-minus-other row.
    private func baseScores(_ tokens: [Int32], _ lengths: [Int]) -> [Float] {
        let d = classifier.dModel, other = 1 - boundIndex
        let hidden = classifier.encoder.hiddenStates(packed: tokens, segments: Segments(lengths: lengths))
        let w = (0..<d).map { classifier.head.ptr[boundIndex * d + $0] - classifier.head.ptr[other * d + $0] }
        var bias = classifier.headBias.ptr[boundIndex] - classifier.headBias.ptr[other]
        var out = [Float](repeating: 0, count: tokens.count)
        hidden.withUnsafeBufferPointer { h in
            w.withUnsafeBufferPointer { wp in
                out.withUnsafeMutableBufferPointer { o in
                    Gemm.linear(x: h.baseAddress!, rows: tokens.count, inFeatures: d, weight: wp.baseAddress!,
                                bias: &bias, outFeatures: 1, y: o.baseAddress!)
                }
            }
        }
        return out
    }
}
