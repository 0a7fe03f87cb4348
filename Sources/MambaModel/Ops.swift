import MambaKernels

/// Small row/element helpers over flat time-major buffers (rows = positions, `ld` = row stride).
/// Not hot enough to need SIMD kernels: each is one pass over memory next to a matrix product; long passes
/// split their rows over the caller's `threads` (a single-threaded pass over a 131 kbp RCPS buffer otherwise
/// leaves the other cores idle between products).
enum Ops {
    /// Splits rows [0, rows) into ranges over `threads` threads when the pass touches enough memory
    /// (≥ 256K floats) for the hand-off to pay; `body(range)` handles one range.
    @inline(__always)
    static func parallelRows(_ rows: Int, cols: Int, threads: Int, _ body: (Range<Int>) -> Void) {
        let parts = rows * cols < 262_144 ? 1 : Swift.max(1, Swift.min(threads, rows / 64))
        if parts <= 1 { body(0..<rows); return }
        Parallel.run(parts) { p in body((p * rows / parts)..<((p + 1) * rows / parts)) }
    }

    /// y[i] += x[i]
    static func addInPlace(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int, threads: Int) {
        nonisolated(unsafe) let y = y
        parallelRows(count, cols: 1, threads: threads) { r in for i in r { y[i] += x[i] } }
    }

    /// y[i] *= x[i]
    static func mulInPlace(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int, threads: Int) {
        nonisolated(unsafe) let y = y
        parallelRows(count, cols: 1, threads: threads) { r in for i in r { y[i] *= x[i] } }
    }

    /// dst[r, :cols] = src[r, :cols]
    static func copyRows(_ src: UnsafePointer<Float>, ld ldSrc: Int, to dst: UnsafeMutablePointer<Float>, ld ldDst: Int,
                         rows: Int, cols: Int) {
        for r in 0..<rows { (dst + r * ldDst).update(from: src + r * ldSrc, count: cols) }
    }

    /// dst[r, :cols] = src[rows−1−r, :cols]   (flip along positions; src and dst must not overlap)
    static func reverseRows(_ src: UnsafePointer<Float>, ld ldSrc: Int, to dst: UnsafeMutablePointer<Float>, ld ldDst: Int,
                            rows: Int, cols: Int, threads: Int) {
        nonisolated(unsafe) let dst = dst
        parallelRows(rows, cols: cols, threads: threads) { rr in
            for r in rr { (dst + r * ldDst).update(from: src + (rows - 1 - r) * ldSrc, count: cols) }
        }
    }

    /// In-place flip along positions of a (rows, cols) buffer with row stride `ld`.
    static func reverseRowsInPlace(_ x: UnsafeMutablePointer<Float>, ld: Int, rows: Int, cols: Int) {
        var i = 0, j = rows - 1
        while i < j {
            let a = x + i * ld, b = x + j * ld
            for c in 0..<cols { let t = a[c]; a[c] = b[c]; b[c] = t }
            i += 1; j -= 1
        }
    }

    /// Exchanges columns [0, half) and [half, 2·half) of every row of a (rows, 2·half) buffer.
    static func swapHalves(_ x: UnsafeMutablePointer<Float>, rows: Int, half: Int, threads: Int) {
        nonisolated(unsafe) let x = x
        parallelRows(rows, cols: 2 * half, threads: threads) { rr in
            for r in rr {
                let a = x + r * 2 * half, b = a + half
                for c in 0..<half { let t = a[c]; a[c] = b[c]; b[c] = t }
            }
        }
    }

    /// dst = rc(src): flip along positions AND channels (the RCPS reverse-complement of a hidden state).
    static func reverseComplement(_ src: UnsafePointer<Float>, ld ldSrc: Int, to dst: UnsafeMutablePointer<Float>, ld ldDst: Int,
                                  rows: Int, cols: Int, threads: Int) {
        nonisolated(unsafe) let dst = dst
        parallelRows(rows, cols: cols, threads: threads) { rr in
            for r in rr {
                let s = src + (rows - 1 - r) * ldSrc, d = dst + r * ldDst
                for c in 0..<cols { d[c] = s[cols - 1 - c] }
            }
        }
    }

    /// out[t, :] = table[tokens[t], :]   table: (vocab, dim)
    static func embed(_ tokens: UnsafePointer<Int32>, count: Int, table: Tensor, dim: Int,
                      out: UnsafeMutablePointer<Float>, ld: Int) {
        let vocab = table.shape[0]
        for t in 0..<count {
            let id = Int(tokens[t])
            precondition(id >= 0 && id < vocab, "token id \(id) outside the model vocabulary (0..<\(vocab))")
            (out + t * ld).update(from: table.ptr + id * dim, count: dim)
        }
    }
}

/// Where packed sequences start. Many short reads are concatenated into one buffer and run in one pass;
/// the kernels zero conv inputs and scan state at every `resetBefore` flag, so reads never see each other.
public struct Segments: Equatable, Sendable {
    public let length: Int
    /// Start row of every sequence, ascending, first = 0 (when length > 0).
    public let starts: [Int]
    /// (length): 1 where a sequence starts, for the left-to-right pass.
    public let forwardResets: [UInt8]
    /// (length), indexed in reversed order: entry i is 1 where row length−1−i ends a sequence,
    /// i.e. where a sequence starts for a pass over the reversed buffer.
    public let reverseResets: [UInt8]

    public init(lengths: [Int]) {
        var starts: [Int] = []
        var total = 0
        for n in lengths where n > 0 { starts.append(total); total += n }
        self.init(length: total, starts: starts)
    }

    public init(length: Int, starts: [Int]) {
        self.length = length
        self.starts = starts
        var f = [UInt8](repeating: 0, count: length)
        var r = [UInt8](repeating: 0, count: length)
        for (k, s) in starts.enumerated() {
            f[s] = 1
            let end = (k + 1 < starts.count ? starts[k + 1] : length) - 1  // last row of this sequence
            r[length - 1 - end] = 1
        }
        if length > 0 { f[0] = 1; r[0] = 1 }
        forwardResets = f
        reverseResets = r
    }

    private init(length: Int, starts: [Int], forward: [UInt8], reverse: [UInt8]) {
        self.length = length; self.starts = starts; forwardResets = forward; reverseResets = reverse
    }

    /// One sequence of `length` rows.
    public static func single(_ length: Int) -> Segments { Segments(length: length, starts: length > 0 ? [0] : []) }

    /// The segmentation of the buffer flipped along positions.
    public func reversed() -> Segments {
        let newStarts = reverseResets.indices.filter { reverseResets[$0] != 0 }
        return Segments(length: length, starts: newStarts, forward: reverseResets, reverse: forwardResets)
    }

    /// Lengths of the sequences.
    public var lengths: [Int] {
        starts.enumerated().map { (k, s) in (k + 1 < starts.count ? starts[k + 1] : length) - s }
    }
}
