import Foundation

/// A 0-order background model: the probability of A, C, G and T at any position.
///
/// It is the null model of the scan: log-odds scores compare the motif against it, and
/// p-values are tail probabilities of the score when every base is drawn from it.
public struct Background: Sendable, Equatable {
    /// Probabilities of A, C, G, T; positive and summing to 1.
    public let probabilities: [Double]

    /// - Throws: `ToolError` (file `source`) unless there are four finite, positive values;
    ///   they are normalised to sum to 1.
    public init(_ values: [Double], source: String = "background") throws {
        guard values.count == 4, values.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw ToolError(file: source, "background needs four positive frequencies for A, C, G, T, got \(values)")
        }
        let total = values.reduce(0, +)
        probabilities = values.map { $0 / total }
    }

    /// 0.25 each.
    public static let uniform = try! Background([0.25, 0.25, 0.25, 0.25])

    /// The composition of counted bases (A, C, G, T counts, e.g. from `BaseComposition`).
    /// A base that never occurs gets a count of 1 so that its log-odds stays finite.
    /// - Throws: `ToolError` when nothing was counted.
    public static func composition(_ counts: [Int], source: String = "input") throws -> Background {
        guard counts.reduce(0, +) > 0 else { throw ToolError(file: source, "no A/C/G/T bases to compute a background from") }
        return try Background(counts.map { Double(max($0, 1)) }, source: source)
    }

    /// Reads a background file: MEME's background format (`#` comments, then lines `A 0.295`;
    /// lines of longer words, i.e. higher orders, are ignored) or one line `A p C p G p T p`.
    /// - Throws: `ToolError` naming the line for malformed content or missing letters.
    public static func read(path: String) throws -> Background {
        var values = [Double](repeating: -1, count: 4)
        for (index, line) in try MotifText.lines(of: path).enumerated() where !MotifText.isBlankOrComment(line) {
            let f = MotifText.fields(line)
            guard f.count % 2 == 0 else {
                throw ToolError(file: path, line: index + 1, "expected 'LETTER FREQUENCY' pairs")
            }
            for k in stride(from: 0, to: f.count, by: 2) {
                let word = f[k].uppercased()
                guard word.allSatisfy({ MotifText.bases.contains($0) }) else {
                    throw ToolError(file: path, line: index + 1, "'\(MotifText.shown(f[k]))' is not made of A, C, G, T")
                }
                let v = try MotifText.number(f[k + 1], file: path, line: index + 1)
                if word.count == 1 { values[MotifText.bases.firstIndex(of: word.first!)!] = v }
            }
        }
        guard !values.contains(-1) else { throw ToolError(file: path, "background must give A, C, G and T") }
        return try Background(values, source: path)
    }
}

/// Counts of A, C, G, T (either case) in sequences; other bytes are not counted.
public struct BaseComposition: Sendable {
    public private(set) var counts = [Int](repeating: 0, count: 4)

    public init() {}

    public mutating func add<C: Collection>(_ bases: C) where C.Element == UInt8 {
        var c = (0, 0, 0, 0)
        for b in bases {
            switch b | 0x20 {   // lowercase
            case UInt8(ascii: "a"): c.0 += 1
            case UInt8(ascii: "c"): c.1 += 1
            case UInt8(ascii: "g"): c.2 += 1
            case UInt8(ascii: "t"): c.3 += 1
            default: break
            }
        }
        counts[0] += c.0; counts[1] += c.1; counts[2] += c.2; counts[3] += c.3
    }
}
