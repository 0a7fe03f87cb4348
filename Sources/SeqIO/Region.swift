/// A genomic interval: `contig` and 0-based half-open `[start, end)`.
///
/// Parsed from samtools syntax, which is 1-based inclusive: `chr` (whole contig),
/// `chr:beg` (from `beg` to the end), `chr:beg-end`, `chr:beg-` , with optional thousands
/// separators (`chr1:1,000-2,000`), and `{name}` / `{name}:beg-end` for contig names that
/// contain colons.
public struct Region: Sendable, Hashable, CustomStringConvertible {
    public var contig: String
    /// 0-based first position (inclusive).
    public var start: Int
    /// 0-based end (exclusive); `nil` means "to the end of the contig".
    public var end: Int?

    /// A region from 0-based half-open coordinates.
    public init(contig: String, start: Int = 0, end: Int? = nil) {
        self.contig = contig
        self.start = start
        self.end = end
    }

    /// Number of positions, when the end is known.
    public var length: Int? { end.map { $0 - start } }

    /// samtools syntax (1-based inclusive), with braces when the name has a colon.
    public var description: String {
        let name = contig.contains(":") ? "{\(contig)}" : contig
        if start == 0 && end == nil { return name }
        if let end { return "\(name):\(start + 1)-\(end)" }
        return "\(name):\(start + 1)-"
    }

    /// The region with an open end made concrete and the end clipped to `contigLength`.
    public func clamped(toLength contigLength: Int) -> Region {
        Region(contig: contig, start: min(start, contigLength), end: min(end ?? contigLength, contigLength))
    }
}

/// A contig name and its length, as listed by a FASTA index or an alignment header.
public struct Contig: Sendable, Hashable {
    public var name: String
    public var length: Int
    public init(name: String, length: Int) {
        self.name = name
        self.length = length
    }
}

extension Region {
    /// Parses samtools region syntax (1-based inclusive) into a 0-based half-open region.
    ///
    /// Without `contigs`, the text after the last colon is taken as coordinates when it
    /// parses as such. With `contigs`, a string that is itself a contig name is the whole
    /// contig, the name must be known, the region must start inside the contig, and an end
    /// beyond the contig is clipped to its length (as samtools does). A string that reads
    /// as both a whole contig and a range of another contig is ambiguous: use `{name}`.
    ///
    /// - Parameter source: what to name in errors (a file or "-r").
    /// - Throws: `SeqIOError` `.invalidRegion` (syntax, zero or negative positions,
    ///   begin > end, start past the contig end, ambiguity) or `.unknownContig`.
    public static func parse(_ text: String, contigs: [Contig]? = nil, source: String = "region") throws -> Region {
        let fail = { (problem: String) in SeqIOError(.invalidRegion, file: source, "region '\(text)': \(problem)") }
        let lengths = contigs.map { Dictionary($0.map { ($0.name, $0.length) }, uniquingKeysWith: { a, _ in a }) }

        var name: Substring
        var range: Substring?
        if text.hasPrefix("{") {
            guard let close = text.firstIndex(of: "}") else { throw fail("missing '}'") }
            name = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.first == ":" else { throw fail("expected ':' after '}'") }
                range = rest.dropFirst()
            }
        } else if let colon = text.lastIndex(of: ":") {
            let before = text[..<colon], after = text[text.index(after: colon)...]
            let rangeParses = (try? parseRange(after)) != nil
            if let lengths {
                let wholeIsContig = lengths[text] != nil
                let splitIsContig = rangeParses && lengths[String(before)] != nil
                if wholeIsContig && splitIsContig {
                    throw fail("ambiguous: both a contig name and a range of '\(before)'; write {\(text)} or {\(before)}:\(after)")
                }
                if wholeIsContig { name = Substring(text); range = nil }
                else { name = before; range = after }
            } else if rangeParses {
                name = before; range = after
            } else {
                name = Substring(text); range = nil
            }
        } else {
            name = Substring(text)
        }
        guard !name.isEmpty else { throw fail("empty contig name") }

        var region = Region(contig: String(name))
        if let range {
            guard let (beg, end) = try? parseRange(range) else {
                throw fail("cannot parse coordinates '\(range)' (expected beg, beg-end or beg-)")
            }
            guard beg >= 1 else { throw fail("positions are 1-based; begin must be at least 1") }
            if let end, beg > end { throw fail("begin \(beg) is greater than end \(end)") }
            region.start = beg - 1
            region.end = end
        }
        if let lengths {
            guard let length = lengths[region.contig] else {
                throw SeqIOError(.unknownContig, file: source, "region '\(text)': unknown contig '\(region.contig)'")
            }
            if region.start >= length && length > 0 {
                throw fail("begin \(region.start + 1) is past the end of '\(region.contig)' (length \(length))")
            }
            region = region.clamped(toLength: length)
        }
        return region
    }

    /// `beg`, `beg-end` or `beg-` with optional commas; returns 1-based values.
    private static func parseRange(_ s: Substring) throws -> (Int, Int?) {
        struct Bad: Error {}
        let digits = s.filter { $0 != "," }
        guard !digits.isEmpty else { throw Bad() }
        if let dash = digits.firstIndex(of: "-") {
            guard let beg = Int(digits[..<dash]) else { throw Bad() }
            let tail = digits[digits.index(after: dash)...]
            if tail.isEmpty { return (beg, nil) }
            guard let end = Int(tail) else { throw Bad() }
            return (beg, end)
        }
        guard let beg = Int(digits) else { throw Bad() }
        return (beg, nil)
    }
}
