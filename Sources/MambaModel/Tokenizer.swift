/// Character tokenizer of Caduceus / HyenaDNA:
/// `[CLS]=0 [SEP]=1 [BOS]=2 [MASK]=3 [PAD]=4 [RESERVED]=5 [UNK]=6 A=7 C=8 G=9 T=10 N=11`.
/// Lowercase (soft-masked) bases map to the same ids, the other IUPAC codes to N, anything else to [UNK].
public enum DNATokenizer {
    public static let cls: Int32 = 0, sep: Int32 = 1, bos: Int32 = 2, mask: Int32 = 3
    public static let pad: Int32 = 4, reserved: Int32 = 5, unk: Int32 = 6
    public static let a: Int32 = 7, c: Int32 = 8, g: Int32 = 9, t: Int32 = 10, n: Int32 = 11
    public static let vocabularySize = 12
    public static let symbols = ["[CLS]", "[SEP]", "[BOS]", "[MASK]", "[PAD]", "[RESERVED]", "[UNK]",
                                 "A", "C", "G", "T", "N"]

    /// byte → id, one lookup per base.
    public static let table: [Int32] = {
        var tab = [Int32](repeating: unk, count: 256)
        for ch in "RYSWKMBDHVNU".utf8 { tab[Int(ch)] = n; tab[Int(ch | 0x20)] = n }
        for (ch, id) in [("A", a), ("C", c), ("G", g), ("T", t)] as [(String, Int32)] {
            let b = ch.utf8.first!
            tab[Int(b)] = id; tab[Int(b | 0x20)] = id
        }
        return tab
    }()

    /// Complement of each id: A↔T, C↔G, everything else maps to itself.
    public static let complementMap: [Int32] = [0, 1, 2, 3, 4, 5, 6, 10, 9, 8, 7, 11]

    public static func encode<S: Sequence>(_ bases: S) -> [Int32] where S.Element == UInt8 {
        bases.map { table[Int($0)] }
    }

    public static func encode(_ bases: String) -> [Int32] { encode(bases.utf8) }

    /// Encodes into `out` (capacity ≥ count), for hot loops over raw record buffers.
    public static func encode(_ bases: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<Int32>) {
        table.withUnsafeBufferPointer { t in
            for i in 0..<bases.count { out[i] = t[Int(bases[i])] }
        }
    }

    public static func decode(_ ids: [Int32]) -> String {
        ids.map { $0 >= 0 && Int($0) < symbols.count ? symbols[Int($0)] : "[UNK]" }.joined()
    }

    public static func complement(_ id: Int32) -> Int32 {
        id >= 0 && Int(id) < complementMap.count ? complementMap[Int(id)] : id
    }

    /// Reverse complement of a token sequence.
    public static func reverseComplement(_ ids: [Int32]) -> [Int32] { ids.reversed().map(complement) }
}
