import Foundation

/// Candidate haplotypes from a local de Bruijn assembly of an active region's reads (as GATK
/// HaplotypeCaller builds them).
///
/// Candidate alleles from CIGARs and clips miss events that no single read alignment states: an insertion
/// next to a deletion that the aligner writes as mismatches and clips, or an event a hundred bases away that
/// makes reads fit no candidate haplotype. The reads' own sequence (soft clips included) and the reference
/// window are threaded into a de Bruijn graph; paths from the window's first reference k-mer to its last are
/// the haplotypes the reads support, each aligned back to the reference and split into alleles.
///
/// The code knows reads only as sequences and qualities: no files, no pileup.
enum LocalAssembly {
    /// k-mer sizes tried in turn: a larger one where the reference window repeats a k-mer or the graph has a cycle.
    static let kmerSizes = [25, 35, 45]
    /// An edge (two consecutive k-mers) must be in this many reads to be kept; reference edges are always kept.
    static let minReads = 2
    /// Haplotypes kept per region (the reference path included when it ranks among them).
    static let maxHaplotypes = 8
    /// Nodes in a graph beyond which the region is given up (a highly repetitive or very deep window).
    static let maxNodes = 20_000
    /// A site's region is assembled when at least this share of its counted reads fit no candidate haplotype.
    static let activeShare = 0.10
    /// Bases assembled on each side of an active site (reads fitting no haplotype often carry an event tens of
    /// bases away), and the longest window merged sites make (the alignment back to the reference is quadratic).
    static let regionPadding = 100, maxWindow = 400

    /// One read's bases (upper-case ASCII) and Phred qualities.
    struct Read {
        var sequence: [UInt8]
        var qualities: [UInt8]
    }

    /// The best paths through the graph of the first k that gives a usable one, best first, the
    /// reference excluded; `nil` when every k failed (a repeated reference k-mer or a cycle at each,
    /// or a window shorter than k + 1).
    static func haplotypes(reference: [UInt8], reads: [Read], minBaseQuality: Int) -> (k: Int, haplotypes: [[UInt8]])? {
        for k in kmerSizes {
            guard let g = Graph(k: k, reference: reference, reads: reads, minBaseQuality: minBaseQuality),
                  let paths = g.bestPaths(maxHaplotypes) else { continue }
            return (k, paths.filter { $0 != reference })
        }
        return nil
    }

    /// A k-mer of at most 64 bases, two bits a base.
    struct Kmer: Hashable {
        var hi: UInt64 = 0, lo: UInt64 = 0

        @inline(__always) mutating func push(_ code: UInt64, k: Int) {
            hi = (hi << 2) | (lo >> 62)
            lo = (lo << 2) | code
            if k < 32 { lo &= (1 << (2 * UInt64(k))) - 1; hi = 0 } else if k < 64 { hi &= (1 << (2 * UInt64(k - 32))) - 1 }
        }
    }

    @inline(__always) static func code(_ b: UInt8) -> UInt64? {
        switch b {
        case UInt8(ascii: "A"), UInt8(ascii: "a"): return 0
        case UInt8(ascii: "C"), UInt8(ascii: "c"): return 1
        case UInt8(ascii: "G"), UInt8(ascii: "g"): return 2
        case UInt8(ascii: "T"), UInt8(ascii: "t"): return 3
        default: return nil
        }
    }

    /// The read-threading graph of one k: nodes are k-mers, edges consecutive k-mers of a read or the reference.
    struct Graph {
        struct Edge {
            var to: Int
            /// Reads with this edge (each read counted once).
            var reads: Int32
            var lastRead: Int32
            var reference: Bool
        }
        let k: Int
        let reference: [UInt8]
        var lastBase: [UInt8] = []
        var out: [[Edge]] = []
        var source = 0, sink = 0

        /// `nil` when the reference window repeats a k-mer (a path could not be told apart from a loop),
        /// is shorter than k + 1, contains a base other than A/C/G/T, or the graph grows past `maxNodes`.
        init?(k: Int, reference: [UInt8], reads: [Read], minBaseQuality: Int) {
            self.k = k
            self.reference = reference
            guard reference.count > k else { return nil }
            var index: [Kmer: Int] = [:]
            func node(_ m: Kmer, _ base: UInt8) -> Int {
                if let i = index[m] { return i }
                index[m] = lastBase.count
                lastBase.append(base)
                out.append([])
                return lastBase.count - 1
            }
            func link(_ a: Int, _ b: Int, read: Int32?) {
                if let e = out[a].firstIndex(where: { $0.to == b }) {
                    if let read, out[a][e].lastRead != read { out[a][e].reads += 1; out[a][e].lastRead = read }
                    if read == nil { out[a][e].reference = true }
                } else {
                    out[a].append(Edge(to: b, reads: read == nil ? 0 : 1, lastRead: read ?? -1, reference: read == nil))
                }
            }
            // Reference first: its k-mers must be unique.
            var m = Kmer(), prev = -1
            for (i, b) in reference.enumerated() {
                guard let c = code(b) else { return nil }
                m.push(c, k: k)
                guard i >= k - 1 else { continue }
                if index[m] != nil { return nil }
                let n = node(m, IndelNormalizer.upper(b))
                if prev >= 0 { link(prev, n, read: nil) }
                prev = n
            }
            source = 0; sink = prev
            // Reads, split at bases under the quality floor or not A/C/G/T (they would make k-mers of errors).
            for (r, read) in reads.enumerated() {
                var m = Kmer(), run = 0, prev = -1
                for (i, b) in read.sequence.enumerated() {
                    guard let c = code(b), i < read.qualities.count,
                          read.qualities[i] == 0xFF || Int(read.qualities[i]) >= minBaseQuality else { run = 0; prev = -1; continue }
                    m.push(c, k: k)
                    run += 1
                    guard run >= k else { continue }
                    let n = node(m, IndelNormalizer.upper(b))
                    if prev >= 0 { link(prev, n, read: Int32(r)) }
                    prev = n
                }
                if lastBase.count > maxNodes { return nil }
            }
        }

        func kept(_ e: Edge) -> Bool { e.reference || Int(e.reads) >= minReads }

        /// Up to `count` paths from `source` to `sink` over kept edges, best first, by the sum over their edges
        /// of log(edge reads / reads of the node's kept out-edges) (GATK's path score: a well-supported branch
        /// wins whatever its length, where a sum of k-mer counts would favour insertions); `nil` when the part
        /// of the graph between source and sink has a cycle.
        func bestPaths(_ count: Int) -> [[UInt8]]? {
            let n = out.count
            // Nodes on some source → sink path.
            var fromSource = [Bool](repeating: false, count: n)
            var stack = [source]; fromSource[source] = true
            while let u = stack.popLast() {
                for e in out[u] where kept(e) && !fromSource[e.to] { fromSource[e.to] = true; stack.append(e.to) }
            }
            var into = [[Int]](repeating: [], count: n)
            for u in 0..<n where fromSource[u] { for e in out[u] where kept(e) { into[e.to].append(u) } }
            var toSink = [Bool](repeating: false, count: n)
            stack = [sink]; toSink[sink] = true
            while let v = stack.popLast() { for u in into[v] where !toSink[u] { toSink[u] = true; stack.append(u) } }
            let live = (0..<n).map { fromSource[$0] && toSink[$0] }
            // Topological order by depth-first search; a back edge is a cycle.
            var state = [UInt8](repeating: 0, count: n)   // 0 new, 1 on the stack, 2 done
            var order: [Int] = []
            var frames: [(node: Int, next: Int)] = [(source, 0)]
            state[source] = 1
            while !frames.isEmpty {
                let (u, i) = frames[frames.count - 1]
                if i < out[u].count {
                    frames[frames.count - 1].next += 1
                    let e = out[u][i]
                    guard kept(e), live[e.to] else { continue }
                    if state[e.to] == 1 { return nil }
                    if state[e.to] == 0 { state[e.to] = 1; frames.append((e.to, 0)) }
                } else {
                    state[u] = 2; order.append(u); frames.removeLast()
                }
            }
            order.reverse()
            // The `count` best partial paths into every node: (score, previous node, its rank there).
            var best = [[(score: Double, prev: Int, rank: Int)]](repeating: [], count: n)
            best[source] = [(0, -1, -1)]
            for u in order where u != sink {
                let edges = out[u].filter { kept($0) && live[$0.to] }
                // A reference edge no read has counts as one read, so a branch-free reference stretch costs nothing.
                let total = edges.reduce(0.0) { $0 + Double(max(1, $1.reads)) }
                for e in edges {
                    let w = log(Double(max(1, e.reads)) / total)
                    for (rank, p) in best[u].enumerated() {
                        let s = p.score + w
                        var list = best[e.to]
                        if list.count == count, let last = list.last, last.score >= s { break }
                        let at = list.firstIndex { $0.score < s } ?? list.count
                        list.insert((s, u, rank), at: at)
                        if list.count > count { list.removeLast() }
                        best[e.to] = list
                    }
                }
            }
            return best[sink].indices.map { r in
                var bases: [UInt8] = [], node = sink, rank = r
                while node != source {
                    bases.append(lastBase[node])
                    let p = best[node][rank]
                    node = p.prev; rank = p.rank
                }
                return Array(reference[0..<k]) + bases.reversed()
            }
        }
    }

    // MARK: Haplotype to alleles

    /// One difference of a haplotype from its reference window: inserted bases (or a deleted count, or one
    /// substituted base) at 0-based window position `at` (the first deleted or substituted base, or the
    /// base after the insertion).
    struct Event: Equatable {
        var at: Int
        var inserted: [UInt8] = []
        var deleted = 0
        var substitute: UInt8? = nil
    }

    /// Alignment scores: a gap of L bases scores `gapOpen + (L − 1) · gapExtend`, so one long indel is
    /// preferred to a scatter of mismatches, and opening a gap costs three matches. (GATK's 200 / −150 /
    /// −260 / −11 open gaps for little more than one match: on the validation pair a 5-bp deletion 9 bp from a
    /// 17-bp insertion came out as four indels that matched the inserted bases against reference ones.)
    enum Scoring {
        static let match: Int32 = 10, mismatch: Int32 = -15, gapOpen: Int32 = -30, gapExtend: Int32 = -1
    }

    /// The differences of `haplotype` from `reference` by global affine-gap alignment (Gotoh), in reference order.
    static func events(haplotype: [UInt8], reference: [UInt8]) -> [Event] {
        let n = reference.count, m = haplotype.count
        let w = m + 1
        let ninf = Int32.min / 4
        // H: best ending anywhere; D: ending in a reference base against a gap (deletion); I: a haplotype base
        // against a gap (insertion). Full matrices, kept for the traceback (windows are a few hundred bases).
        var H = [Int32](repeating: ninf, count: (n + 1) * w), D = H, I = H
        H[0] = 0
        for i in 1...max(1, n) where i <= n { D[i * w] = Scoring.gapOpen + Int32(i - 1) * Scoring.gapExtend; H[i * w] = D[i * w] }
        for j in 1...max(1, m) where j <= m { I[j] = Scoring.gapOpen + Int32(j - 1) * Scoring.gapExtend; H[j] = I[j] }
        if n > 0 && m > 0 {
            for i in 1...n {
                for j in 1...m {
                    let c = i * w + j
                    D[c] = max(H[c - w] + Scoring.gapOpen, D[c - w] + Scoring.gapExtend)
                    I[c] = max(H[c - 1] + Scoring.gapOpen, I[c - 1] + Scoring.gapExtend)
                    let diag = H[c - w - 1] + (reference[i - 1] == haplotype[j - 1] ? Scoring.match : Scoring.mismatch)
                    H[c] = max(diag, D[c], I[c])
                }
            }
        }
        // Traceback from the end, in reverse.
        var ops: [(kind: UInt8, i: Int, j: Int)] = []   // M: i,j aligned; D: ref i deleted; I: hap j inserted
        var i = n, j = m, state: UInt8 = 0   // 0 H, 1 D, 2 I
        while i > 0 || j > 0 {
            let c = i * w + j
            switch state {
            case 1:
                ops.append((UInt8(ascii: "D"), i - 1, j))
                // The gap goes on while this cell extends the one above.
                if i == 1 || D[c] != D[c - w] + Scoring.gapExtend { state = 0 }
                i -= 1
            case 2:
                ops.append((UInt8(ascii: "I"), i, j - 1))
                if j == 1 || I[c] != I[c - 1] + Scoring.gapExtend { state = 0 }
                j -= 1
            default:
                if i > 0 && j > 0 && H[c] == H[c - w - 1] + (reference[i - 1] == haplotype[j - 1] ? Scoring.match : Scoring.mismatch) {
                    ops.append((UInt8(ascii: "M"), i - 1, j - 1)); i -= 1; j -= 1
                } else if i > 0 && (j == 0 || H[c] == D[c]) {
                    state = 1
                } else {
                    state = 2
                }
            }
        }
        ops.reverse()
        var out: [Event] = []
        var k = 0
        while k < ops.count {
            let o = ops[k]
            if o.kind == UInt8(ascii: "M") {
                if reference[o.i] != haplotype[o.j] { out.append(Event(at: o.i, substitute: haplotype[o.j])) }
                k += 1
            } else if o.kind == UInt8(ascii: "D") {
                var e = k
                while e < ops.count && ops[e].kind == o.kind { e += 1 }
                out.append(Event(at: o.i, deleted: e - k)); k = e
            } else {
                var e = k
                while e < ops.count && ops[e].kind == o.kind { e += 1 }
                out.append(Event(at: o.i, inserted: ops[k..<e].map { haplotype[$0.j] })); k = e
            }
        }
        return out
    }

    /// The alleles of an assembled haplotype of the reference window starting at 0-based `start`, indels
    /// left-normalised on `window` (reference bases from `windowStart`, wider than the assembled window);
    /// `nil` when an indel is longer than `HaplotypeEvidence.maxIndel`, cannot be normalised, or an allele
    /// holds a base other than A/C/G/T.
    static func alleles(haplotype: [UInt8], reference: [UInt8], start: Int, contig: Int,
                        window: [UInt8], windowStart: Int) -> [Allele]? {
        var out: [Allele] = []
        for e in events(haplotype: haplotype, reference: reference) {
            if let b = e.substitute {
                guard code(b) != nil, code(reference[e.at]) != nil else { return nil }
                out.append(Allele(contig: contig, position: start + e.at, ref: [reference[e.at]], alt: [b]))
                continue
            }
            guard max(e.deleted, e.inserted.count) <= HaplotypeEvidence.maxIndel,
                  e.inserted.allSatisfy({ code($0) != nil }) else { return nil }
            let normal = window.withUnsafeBufferPointer {
                IndelNormalizer.normalize(at: start + e.at, inserted: e.inserted, deleted: e.deleted, window: $0, windowStart: windowStart)
            }
            guard let n = normal, n.ref.allSatisfy({ code($0) != nil }) else { return nil }
            out.append(Allele(contig: contig, position: n.position, ref: n.ref, alt: n.alt))
        }
        return out
    }
}
