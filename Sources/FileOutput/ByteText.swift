/// Text that must come out byte for byte as it came in, such as read names, which FASTA/FASTQ/SAM allow to hold any
/// bytes, while Swift strings hold only Unicode.
///
/// `decode` turns bytes into a String: valid UTF-8 as it is, and every byte that is not part of valid UTF-8 into
/// one code point of a private-use block, U+10FF80 + (byte − 0x80) (such bytes are always ≥ 0x80). Valid UTF-8 that
/// itself spells a code point of that block is escaped the same way, byte by byte, so the mapping is one to one.
/// `encode` (used by `OutputFile.write`) turns those code points back into their bytes. Python calls the same idea
/// "surrogateescape"; Swift strings cannot hold lone surrogates, hence the private-use block.
public enum ByteText {
    static let escapeBase: UInt32 = 0x10FF00
    static let escaped: ClosedRange<UInt32> = 0x10FF80...0x10FFFF

    /// The String for `bytes` (see the type).
    public static func decode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        if bytes.allSatisfy({ $0 < 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
        let b = Array(bytes)
        var scalars = String.UnicodeScalarView()
        var i = 0
        while i < b.count {
            let (scalar, length) = decodeScalar(b, at: i)
            if let scalar, !escaped.contains(scalar.value) {
                scalars.append(scalar)
                i += length
            } else {
                // Not valid UTF-8 here (or a code point of the escape block): escape one byte, resynchronise after it.
                scalars.append(Unicode.Scalar(escapeBase + UInt32(b[i]))!)
                i += 1
            }
        }
        return String(scalars)
    }

    /// The bytes `s` stands for: its UTF-8, with escaped bytes (see the type) back as the single bytes they were.
    public static func encode(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        append(s, to: &out)
        return out
    }

    /// Appends `encode(s)` to `out`.
    public static func append(_ s: String, to out: inout [UInt8]) {
        // Escaped code points are 4-byte sequences starting F4 8F BE/BF: text without an F4 byte has none.
        guard s.utf8.contains(0xF4) else {
            out.append(contentsOf: s.utf8)
            return
        }
        for scalar in s.unicodeScalars {
            if escaped.contains(scalar.value) {
                out.append(UInt8(scalar.value - escapeBase))
            } else {
                out.append(contentsOf: String(scalar).utf8)
            }
        }
    }

    /// The well-formed UTF-8 scalar starting at `i` (shortest form, no surrogates, ≤ U+10FFFF) and its length,
    /// or nil.
    static func decodeScalar(_ b: [UInt8], at i: Int) -> (Unicode.Scalar?, Int) {
        let c0 = b[i]
        if c0 < 0x80 { return (Unicode.Scalar(c0), 1) }
        let length: Int, minimum: UInt32
        var value: UInt32
        switch c0 {
        case 0xC2...0xDF: length = 2; minimum = 0x80; value = UInt32(c0 & 0x1F)
        case 0xE0...0xEF: length = 3; minimum = 0x800; value = UInt32(c0 & 0x0F)
        case 0xF0...0xF4: length = 4; minimum = 0x10000; value = UInt32(c0 & 0x07)
        default: return (nil, 1)
        }
        guard i + length <= b.count else { return (nil, 1) }
        for k in 1..<length {
            let c = b[i + k]
            guard c & 0xC0 == 0x80 else { return (nil, 1) }
            value = value << 6 | UInt32(c & 0x3F)
        }
        guard value >= minimum, value <= 0x10FFFF, !(0xD800...0xDFFF).contains(value) else { return (nil, 1) }
        return (Unicode.Scalar(value), length)
    }
}
