import Foundation
import MambaModel

/// Candidate features from a DNA encoder's per-base hidden states: how much the alternate allele
/// changes what the encoder makes of the site's context.
///
/// For each candidate the reference window (`flank` bases each side of the REF allele) and the same
/// window with the ALT allele in its place run through the encoder, on the forward strand and on the
/// reverse complement (a causal encoder sees only what precedes a base, so each strand supplies one
/// side of the context). Per strand, the hidden vectors are compared where the allele ends (REF's
/// last base against ALT's) and at the `flank` bases after it, aligned from there on: the cosine
/// distance at the site, its mean over the bases after the site, its mean over the last `tail` of
/// them (how long the change persists), and the log ratio of the vector norms at the site. The two
/// strands' values are averaged, so a site and its reverse-complement image get the same features.
/// Only such comparisons enter, not raw hidden coordinates, so the features stay meaningful for any
/// encoder of the kind; the genotyper is still trained with one encoder, which its model directory
/// keeps a copy of (`directoryName`).
///
/// All candidates of a chunk go through the encoder in packed batches (`hiddenStates(packed:)`).
public final class ContextEmbedding: @unchecked Sendable {  // the model is only read after loading
    public static let names = ["emb_site_distance", "emb_after_distance", "emb_tail_distance", "emb_site_norm_log_ratio"]
    /// The encoder's directory inside a variant model directory.
    public static let directoryName = "encoder"
    public static let flank = 32
    static let tail = 8
    /// Rows per encoder call: one block of the packed path, a few MB of hidden states.
    static let batchTokens = 8192

    public let model: any SequenceModel

    public init(model: any SequenceModel) { self.model = model }

    /// Loads the encoder of a model directory (a `mamba_ssm` checkpoint or a sequence classifier,
    /// whose backbone is used).
    /// - Throws: `ToolError` naming the directory when it holds no model; `ModelError` from the loader.
    public convenience init(directory: String) throws {
        let config = (directory as NSString).appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: config) else {
            throw ToolError(file: directory, "no DNA encoder here (config.json missing)")
        }
        self.init(model: try MambaCheckpoint.load(directory))
    }

    /// REF and ALT windows of one allele (upper-case bases) and the lengths of their left and right
    /// flanks (shorter at contig ends).
    struct Window: Equatable {
        var ref: [UInt8]
        var alt: [UInt8]
        var left: Int
        var right: Int
    }

    /// The windows of `allele`; `reference(p)` gives the base at 0-based `p`, `nil` past the contig.
    static func window(_ allele: Allele, flank: Int = flank, reference: (Int) -> UInt8?) -> Window {
        var left: [UInt8] = []
        var p = allele.position - 1
        while left.count < flank, p >= 0, let b = reference(p) { left.append(b); p -= 1 }
        left.reverse()
        var right: [UInt8] = []
        p = allele.position + allele.ref.count
        while right.count < flank, let b = reference(p) { right.append(b); p += 1 }
        return Window(ref: left + allele.ref + right, alt: left + allele.alt + right, left: left.count, right: right.count)
    }

    /// `names.count` features per allele, in input order.
    public func features(_ alleles: [Allele], reference: (Int) -> UInt8?) -> [[Float]] {
        var out: [[Float]] = []
        out.reserveCapacity(alleles.count)
        // Four sequences per allele (forward REF, ALT; reverse-complement REF, ALT), kept in one batch.
        var batch: [(Window, [[Int32]])] = []
        var tokens = 0
        func flush() {
            guard !batch.isEmpty else { return }
            let seqs = batch.flatMap { $0.1 }
            let hidden = model.hiddenStates(packed: Array(seqs.joined()), segments: Segments(lengths: seqs.map(\.count)),
                                            threads: 1)
            var row = 0
            for (w, s) in batch {
                let starts = s.reduce(into: [row]) { $0.append($0.last! + $1.count) }
                let forward = Self.compare(hidden, dim: model.outputDim, ref: starts[0], alt: starts[1], before: w.left,
                                           refAllele: w.ref.count - w.left - w.right, altAllele: w.alt.count - w.left - w.right,
                                           after: w.right)
                let reverse = Self.compare(hidden, dim: model.outputDim, ref: starts[2], alt: starts[3], before: w.right,
                                           refAllele: w.ref.count - w.left - w.right, altAllele: w.alt.count - w.left - w.right,
                                           after: w.left)
                out.append(zip(forward, reverse).map { ($0 + $1) / 2 })
                row = starts[4]
            }
            batch.removeAll(keepingCapacity: true)
            tokens = 0
        }
        for a in alleles {
            let w = Self.window(a, reference: reference)
            let r = DNATokenizer.encode(w.ref), x = DNATokenizer.encode(w.alt)
            let s = [r, x, DNATokenizer.reverseComplement(r), DNATokenizer.reverseComplement(x)]
            let n = 2 * (r.count + x.count)
            if tokens + n > Self.batchTokens { flush() }
            batch.append((w, s))
            tokens += n
        }
        flush()
        return out
    }

    /// The strand's four summaries for one allele whose REF window starts at row `ref` and ALT window at
    /// row `alt` of `hidden`; each window is `before` bases, the allele, then `after` bases.
    static func compare(_ hidden: [Float], dim d: Int, ref: Int, alt: Int, before: Int, refAllele: Int, altAllele: Int,
                        after: Int) -> [Float] {
        hidden.withUnsafeBufferPointer { h in
            func norm(_ row: Int) -> Float {
                var s: Float = 0
                for k in 0..<d { s += h[row * d + k] * h[row * d + k] }
                return s.squareRoot()
            }
            func distance(_ i: Int, _ j: Int) -> Float {
                var dot: Float = 0
                for k in 0..<d { dot += h[i * d + k] * h[j * d + k] }
                return 1 - dot / max(norm(i) * norm(j), 1e-12)
            }
            let refSite = ref + before + refAllele - 1, altSite = alt + before + altAllele - 1
            let site = distance(refSite, altSite)
            let later = (0..<after).map { distance(refSite + 1 + $0, altSite + 1 + $0) }
            let afterMean = later.isEmpty ? site : later.reduce(0, +) / Float(later.count)
            let last = later.suffix(tail)
            let tailMean = last.isEmpty ? site : last.reduce(0, +) / Float(last.count)
            let ratio = Foundation.log(max(norm(altSite), 1e-12) / max(norm(refSite), 1e-12))
            return [site, afterMean, tailMean, ratio]
        }
    }
}
