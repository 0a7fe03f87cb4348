import CHTSLib
import FileOutput
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The declaration of an INFO or FORMAT field in a VCF header
/// (`##INFO=<ID=DP,Number=1,Type=Integer,Description="…">`).
public struct VariantFieldDeclaration: Sendable, Equatable {
    /// VCF value types.
    public enum ValueType: String, Sendable {
        case integer = "Integer", float = "Float", flag = "Flag", character = "Character", string = "String"
    }

    public var id: String
    /// VCF `Number`: a count (`"1"`, `"0"` for flags) or `"A"` (one per ALT), `"R"` (one per allele,
    /// REF included), `"G"` (one per genotype), `"."` (varies).
    public var number: String
    public var type: ValueType
    public var description: String

    public init(id: String, number: String, type: ValueType, description: String) {
        self.id = id; self.number = number; self.type = type; self.description = description
    }
}

/// The meta-information lines and sample names of a VCF/BCF header.
///
/// `VariantFileWriter` writes `##fileformat=VCFv4.3` and `##FILTER=<ID=PASS,…>` first (htslib adds
/// them), then `lines` in their order, then the `#CHROM` line with `samples`.
public struct VariantHeader: Sendable, Equatable {
    /// One `##` line.
    public enum Line: Sendable, Equatable {
        /// `##contig=<ID=…,length=…>`; records may only name declared contigs.
        case contig(Contig)
        /// `##FILTER=<ID=…,Description="…">`.
        case filter(id: String, description: String)
        /// `##INFO=<…>`.
        case info(VariantFieldDeclaration)
        /// `##FORMAT=<…>`.
        case format(VariantFieldDeclaration)
        /// Any other `##key=value` line, written as given.
        case other(key: String, value: String)

        /// The line as it appears in the file, without the newline.
        public var text: String {
            func field(_ kind: String, _ d: VariantFieldDeclaration) -> String {
                "##\(kind)=<ID=\(d.id),Number=\(d.number),Type=\(d.type.rawValue),Description=\(quoted(d.description))>"
            }
            switch self {
            case .contig(let c): return "##contig=<ID=\(c.name),length=\(c.length)>"
            case .filter(let id, let description): return "##FILTER=<ID=\(id),Description=\(quoted(description))>"
            case .info(let d): return field("INFO", d)
            case .format(let d): return field("FORMAT", d)
            case .other(let key, let value): return "##\(key)=\(value)"
            }
        }

        private func quoted(_ s: String) -> String {
            "\"" + s.replacingBackslashesAndQuotes() + "\""
        }
    }

    public var lines: [Line]
    public var samples: [String]

    public init(lines: [Line] = [], samples: [String] = []) {
        self.lines = lines
        self.samples = samples
    }
}

private extension String {
    func replacingBackslashesAndQuotes() -> String {
        var out = ""
        for ch in self {
            if ch == "\\" || ch == "\"" { out.append("\\") }
            out.append(ch)
        }
        return out
    }
}

/// A value of an INFO or FORMAT field. FORMAT values hold every sample's values, sample after
/// sample, with the same count for each.
public enum VariantValue: Sendable, Equatable {
    /// A `Flag` INFO field that is set (INFO only).
    case flag
    case integers([Int32])
    case floats([Float])
    /// A `String` INFO field (INFO only).
    case string(String)
}

/// One INFO or FORMAT entry of a record.
public struct VariantAttribute: Sendable, Equatable {
    public var key: String
    public var value: VariantValue
    public init(_ key: String, _ value: VariantValue) {
        self.key = key
        self.value = value
    }
}

/// One VCF record (line).
///
/// Coordinates are 0-based: `position` is VCF `POS` − 1, as in htslib's `bcf1_t.pos`.
public struct VariantRecord: Sendable, Equatable {
    public var contig: String
    /// 0-based position of the first REF base.
    public var position: Int
    /// The ID column; `nil` for `.`.
    public var id: String?
    public var ref: String
    /// ALT alleles in order (none for a monomorphic site).
    public var alts: [String]
    /// `nil` for `.`.
    public var qual: Float?
    /// FILTER IDs; empty for `.` (not filtered). Each must be declared in the header (or be `PASS`).
    public var filters: [String]
    /// INFO fields in the order they are written. When reading, left empty (not decoded).
    public var info: [VariantAttribute]
    /// GT per sample: allele indices (0 = REF, 1 = first ALT, …; −1 for a missing allele `.`),
    /// written unphased (`0/1`). Empty: no GT. Samples with fewer alleles than others are padded
    /// as VCF requires. When reading: every sample's GT (phasing not kept); empty without GT.
    public var genotypes: [[Int]]
    /// FORMAT fields after GT, in the order they are written (integers or floats only). When
    /// reading, left empty (not decoded).
    public var format: [VariantAttribute]

    public init(contig: String, position: Int, id: String? = nil, ref: String, alts: [String], qual: Float? = nil,
                filters: [String] = [], info: [VariantAttribute] = [], genotypes: [[Int]] = [],
                format: [VariantAttribute] = []) {
        self.contig = contig; self.position = position; self.id = id; self.ref = ref; self.alts = alts
        self.qual = qual; self.filters = filters; self.info = info; self.genotypes = genotypes; self.format = format
    }
}

/// Writes VCF 4.3 through htslib's `bcf_*` API. The kind follows the path:
/// `.vcf.gz` / `.vcf.bgz` — BGZF-compressed VCF with a tabix `.tbi` index; `.bcf` — BCF with a
/// `.csi` index; anything else — plain VCF; `-` — plain VCF to stdout (no index).
///
/// Records go to a temporary file in the output's directory (`.NAME.tmp-PID`, `OutputPath`); `finish()`
/// closes it, builds the index and renames both into place (index first), so a failed or abandoned write
/// leaves no partial output. A writer released without `finish()` removes its temporary files. A device or
/// FIFO (`/dev/null`, a named pipe) is written directly, without an index.
///
/// Records must come sorted by contig (header order) and position, as indexing requires.
/// Not thread-safe.
public final class VariantFileWriter {
    /// The output path as given; named in errors.
    public let path: String
    private let header: VariantHeader
    private let threads: Int
    private let output: OutputPath
    private var tmp: String { output.writePath }
    private let indexSuffix: String?
    private var file: UnsafeMutablePointer<htsFile>?
    private let hdr: UnsafeMutablePointer<bcf_hdr_t>
    private let rec: UnsafeMutablePointer<bcf1_t>
    private var filterIDs: [String: Int32] = [:]
    private var idWasSet = false
    private var finished = false
    /// Records written so far.
    public private(set) var recordCount = 0

    /// Creates the temporary output and writes the header.
    /// - Parameter threads: threads for building the index.
    /// - Throws: `SeqIOError` `.unwritable` naming `path` when the file cannot be created or the
    ///   header not written; `.malformed` when a header line or sample name is rejected.
    /// - Parameter inputs: the run's input files, which `path` must not be.
    public convenience init(path: String, header: VariantHeader, threads: Int = 1, inputs: [String] = []) throws {
        try self.init(path: path, header: header, template: nil, extraLines: [], threads: threads, inputs: inputs)
    }

    /// With `template`, the header is a copy of it plus `extraLines` (records are then copied with `writeCopy`).
    init(path: String, header: VariantHeader, template: UnsafeMutablePointer<bcf_hdr_t>?, extraLines: [String],
         threads: Int, inputs: [String]) throws {
        self.path = path
        self.header = header
        self.threads = max(1, threads)
        let mode: String
        do { output = try OutputPath(path, inputs: inputs) } catch {
            throw SeqIOError(.unwritable, file: path, (error as? OutputError)?.reason ?? ErrorText.reason(error))
        }
        let indexed = !output.isDirect
        if path.hasSuffix(".vcf.gz") || path.hasSuffix(".vcf.bgz") { mode = "wz"; indexSuffix = indexed ? ".tbi" : nil }
        else if path.hasSuffix(".bcf") { mode = "wb"; indexSuffix = indexed ? ".csi" : nil }
        else { mode = "w"; indexSuffix = nil }
        guard let h = template.map({ bcf_hdr_dup($0) }) ?? bcf_hdr_init("w") else {
            throw SeqIOError(.unwritable, file: path, "cannot create a VCF header")
        }
        hdr = h
        rec = bcf_init()
        mdna_set_errno(0)
        guard let fp = hts_open(tmp, mode) else {
            // Every stored property is set here, so deinit runs and releases the header and record.
            throw SeqIOError(.unwritable, file: path, "cannot open for writing: \(systemErrorText())")
        }
        file = fp
        do {
            if template != nil {
                for line in extraLines where bcf_hdr_append(hdr, line) != 0 {
                    throw SeqIOError(.malformed, file: path, "cannot add header line \(line)")
                }
                guard bcf_hdr_sync(hdr) == 0, bcf_hdr_write(fp, hdr) == 0 else {
                    throw SeqIOError(.unwritable, file: path, "cannot write the header")
                }
            } else {
                try writeHeader()
            }
        } catch {
            discard()
            throw error
        }
    }

    deinit {
        if !finished { discard() }
        bcf_destroy(rec)
        bcf_hdr_destroy(hdr)
    }

    private func writeHeader() throws {
        _ = bcf_hdr_set_version(hdr, "VCFv4.3")
        for line in header.lines {
            let text = line.text
            guard bcf_hdr_append(hdr, text) == 0 else { throw SeqIOError(.malformed, file: path, "cannot add header line \(text)") }
        }
        for sample in header.samples where bcf_hdr_add_sample(hdr, sample) != 0 {
            throw SeqIOError(.malformed, file: path, "cannot add sample '\(sample)'")
        }
        guard bcf_hdr_sync(hdr) == 0 else { throw SeqIOError(.malformed, file: path, "cannot add sample(s) \(header.samples)") }
        guard bcf_hdr_write(file, hdr) == 0 else { throw SeqIOError(.unwritable, file: path, "cannot write the header") }
    }

    /// Writes one record. Its contig, FILTER IDs and INFO/FORMAT keys must be declared in the header.
    /// - Throws: `SeqIOError` `.malformed` for an undeclared contig, filter or field, or values that do
    ///   not fit its declaration; `.unwritable` when writing fails (disk full).
    public func write(_ record: VariantRecord) throws {
        guard let file, !finished else { throw SeqIOError(.unwritable, file: path, "writer already finished") }
        func bad(_ what: String) -> SeqIOError {
            SeqIOError(.malformed, file: path, "record \(recordCount + 1) (\(record.contig):\(record.position + 1)): \(what)")
        }
        bcf_clear(rec)
        let rid = bcf_hdr_id2int(hdr, Int32(BCF_DT_CTG), record.contig)
        guard rid >= 0 else { throw bad("contig '\(record.contig)' is not declared in the header") }
        rec.pointee.rid = rid
        rec.pointee.pos = hts_pos_t(record.position)
        if let id = record.id {
            guard bcf_update_id(hdr, rec, id) == 0 else { throw bad("cannot set ID \(id)") }
            idWasSet = true
        } else if idWasSet {
            // bcf_clear keeps the last ID's buffer; reset it to `.`.
            _ = bcf_update_id(hdr, rec, nil)
        }
        let alleles = ([record.ref] + record.alts).joined(separator: ",")
        guard bcf_update_alleles_str(hdr, rec, alleles) == 0 else { throw bad("cannot set alleles \(alleles)") }
        if let qual = record.qual { rec.pointee.qual = qual } else { mdna_bcf_set_qual_missing(rec) }
        if !record.filters.isEmpty {
            var ids: [Int32] = []
            for f in record.filters {
                if let id = filterIDs[f] { ids.append(id); continue }
                let id = bcf_hdr_id2int(hdr, Int32(BCF_DT_ID), f)
                guard id >= 0 else { throw bad("FILTER '\(f)' is not declared in the header") }
                filterIDs[f] = id
                ids.append(id)
            }
            guard bcf_update_filter(hdr, rec, &ids, Int32(ids.count)) == 0 else { throw bad("cannot set FILTER \(record.filters)") }
        }
        for a in record.info {
            let r: Int32
            switch a.value {
            case .flag: r = mdna_bcf_update_info_flag(hdr, rec, a.key, 1)
            case .integers(var v): r = mdna_bcf_update_info_int32(hdr, rec, a.key, &v, Int32(v.count))
            case .floats(var v): r = mdna_bcf_update_info_float(hdr, rec, a.key, &v, Int32(v.count))
            case .string(let v): r = bcf_update_info(hdr, rec, a.key, v, 1, Int32(BCF_HT_STR))
            }
            guard r == 0 else { throw bad("cannot set INFO/\(a.key) (not declared, or of another type)") }
        }
        if !record.genotypes.isEmpty {
            guard record.genotypes.count == header.samples.count else {
                throw bad("\(record.genotypes.count) genotypes for \(header.samples.count) samples")
            }
            let ploidy = record.genotypes.map(\.count).max() ?? 0
            var gt: [Int32] = []
            gt.reserveCapacity(ploidy * record.genotypes.count)
            for g in record.genotypes {
                // bcf_gt_unphased(i) = (i + 1) << 1 (0 = missing); shorter genotypes end with vector_end.
                for a in g { gt.append(a < 0 ? 0 : Int32(a + 1) << 1) }
                for _ in g.count..<ploidy { gt.append(Int32(bcf_int32_vector_end)) }
            }
            guard bcf_update_format(hdr, rec, "GT", &gt, Int32(gt.count), Int32(BCF_HT_INT)) == 0 else {
                throw bad("cannot set GT (is it declared?)")
            }
        }
        for a in record.format {
            let r: Int32
            switch a.value {
            case .integers(var v): r = mdna_bcf_update_format_int32(hdr, rec, a.key, &v, Int32(v.count))
            case .floats(var v): r = mdna_bcf_update_format_float(hdr, rec, a.key, &v, Int32(v.count))
            case .flag, .string: throw bad("FORMAT/\(a.key): only integer and float FORMAT values are written")
            }
            guard r == 0 else { throw bad("cannot set FORMAT/\(a.key) (not declared, or of another type)") }
        }
        guard bcf_write(file, hdr, rec) == 0 else {
            throw SeqIOError(.unwritable, file: path, "cannot write a record (disk full?)")
        }
        recordCount += 1
    }

    /// Writes a record read with a header equal to this writer's (as `bcftools concat` copies records).
    func writeCopy(_ record: UnsafeMutablePointer<bcf1_t>) throws {
        guard let file, !finished else { throw SeqIOError(.unwritable, file: path, "writer already finished") }
        guard bcf_write(file, hdr, record) == 0 else {
            throw SeqIOError(.unwritable, file: path, "cannot write a record (disk full?)")
        }
        recordCount += 1
    }

    /// Closes the file, builds its index (`.tbi` / `.csi`) and renames both to their final names.
    /// On error nothing is left under the final names of this write.
    /// - Throws: `SeqIOError` `.unwritable` naming the file that could not be finished, indexed or renamed.
    public func finish() throws {
        guard !finished, let fp = file else { return }
        finished = true
        file = nil
        do {
            guard hts_close(fp) == 0 else { throw SeqIOError(.unwritable, file: path, "cannot finish writing (disk full?)") }
            if output.isDirect { return }
            if let indexSuffix {
                let tmpIndex = output.companion(suffix: indexSuffix)
                let r = indexSuffix == ".tbi"
                    ? withUnsafePointer(to: tbx_conf_vcf) { tbx_index_build3(tmp, tmpIndex, 0, Int32(threads), $0) }
                    : bcf_index_build3(tmp, tmpIndex, 14, Int32(threads))
                guard r == 0 else { throw SeqIOError(.unwritable, file: path, "cannot build the index") }
            }
            do { try output.commit() } catch let e as OutputError { throw SeqIOError(.unwritable, file: e.path, e.reason) }
        } catch {
            removeTemporaryFiles()
            throw error
        }
    }

    /// Closes and removes the temporary output without publishing it.
    private func discard() {
        finished = true
        if let fp = file { _ = hts_close(fp); file = nil }
        removeTemporaryFiles()
    }

    private func removeTemporaryFiles() { output.abandon() }
}

/// Reads VCF (plain or BGZF-compressed) or BCF records through htslib (`bcf_read`), whole file in
/// order; `-` reads stdin.
///
/// Records carry the fixed columns and every sample's GT; other INFO/FORMAT values are not decoded.
/// Coordinates are 0-based (`VariantRecord.position` = VCF `POS` − 1). Not thread-safe.
public final class VariantFileReader: IteratorProtocol, Sequence {
    /// The path as given; named in errors.
    public let path: String
    /// `##contig` lines of the header, in header order (length 0 when not declared).
    public let contigs: [Contig]
    public let samples: [String]
    /// Records returned so far.
    public private(set) var recordCount = 0
    /// The error that ended iteration through `Sequence` (`for record in reader`), if any.
    public private(set) var error: SeqIOError?

    private let file: UnsafeMutablePointer<htsFile>
    private let isText: Bool
    private let hdr: UnsafeMutablePointer<bcf_hdr_t>
    private let rec: UnsafeMutablePointer<bcf1_t>
    private var gtBuffer: UnsafeMutableRawPointer?
    private var gtCapacity: Int32 = 0

    /// Opens `path` and reads its header.
    /// - Throws: `SeqIOError` naming `path`: `.unreadable` (cannot open), `.unsupportedFormat` (not
    ///   VCF/BCF), `.malformed` (bad header).
    public init(path: String) throws {
        self.path = path
        if path != "-" && mdna_is_directory(path) != 0 { throw SeqIOError(.unreadable, file: path, "is a directory") }
        mdna_set_errno(0)
        guard let fp = hts_open(path, "r") else {
            throw SeqIOError(.unreadable, file: path, "cannot open as VCF/BCF: \(systemErrorText())")
        }
        let format = hts_get_format(fp)!.pointee.format
        guard format == vcf || format == bcf else {
            _ = hts_close(fp)
            throw SeqIOError(.unsupportedFormat, file: path, "not VCF/BCF")
        }
        guard let h = bcf_hdr_read(fp) else {
            _ = hts_close(fp)
            throw SeqIOError(.malformed, file: path, "cannot read the VCF header")
        }
        file = fp
        isText = format == vcf
        hdr = h
        rec = bcf_init()
        var list: [Contig] = []
        for rid in 0..<mdna_bcf_hdr_nseqs(h) {
            list.append(Contig(name: String(cString: mdna_bcf_hdr_id2name(h, rid)), length: Int(mdna_bcf_hdr_ctg_len(h, rid))))
        }
        contigs = list
        samples = (0..<mdna_bcf_hdr_nsamples(h)).map { String(cString: mdna_bcf_hdr_sample(h, $0)) }
    }

    deinit {
        free(gtBuffer)
        bcf_destroy(rec)
        bcf_hdr_destroy(hdr)
        _ = hts_close(file)
    }

    /// The next record, or `nil` at the end of the file.
    ///
    /// htslib itself accepts a record whose contig or INFO/FORMAT key is not declared in the header
    /// (it warns on stderr and declares it); so does this reader.
    /// - Throws: `SeqIOError` `.malformed` naming the file when a record cannot be parsed (fewer than
    ///   the 8 fixed columns, POS not a number ≥ 1, values htslib rejects) or the data ends early.
    public func read() throws -> VariantRecord? {
        let r = bcf_read(file, hdr, rec)
        if r == -1 { return nil }
        func malformed(_ why: String) -> SeqIOError {
            SeqIOError(.malformed, file: path, "malformed VCF record \(recordCount + 1): \(why)")
        }
        if r < 0 { throw SeqIOError(.malformed, file: path, "truncated or malformed VCF/BCF data after \(recordCount) records") }
        if isText {
            // htslib parses short lines leniently; VCF requires CHROM…INFO. The parser splits the
            // line it keeps (`htsFile.line`) in place, so a field separator is a tab or a NUL there.
            let line = file.pointee.line
            var separators = 0
            if let p = line.s {
                for i in 0..<Int(line.l) where p[i] == 9 || p[i] == 0 {
                    separators += 1
                    if separators >= 7 { break }
                }
            }
            if separators < 7 { throw malformed("fewer than the 8 fixed columns") }
        }
        if rec.pointee.pos < 0 { throw malformed("POS is not a number ≥ 1") }
        // Undeclared contigs / keys (1, 2) are repaired by htslib; any other flag is an error.
        if rec.pointee.errcode & ~(Int32(BCF_ERR_CTG_UNDEF) | Int32(BCF_ERR_TAG_UNDEF)) != 0 {
            throw malformed("rejected by htslib (error flags \(rec.pointee.errcode))")
        }
        _ = bcf_unpack(rec, 15)   // BCF_UN_ALL
        let d = rec.pointee.d
        let n = Int(rec.pointee.n_allele)
        let alleles = (0..<n).map { String(cString: d.allele[$0]!) }
        var filters: [String] = []
        for i in 0..<Int(d.n_flt) { filters.append(String(cString: mdna_bcf_hdr_int2id(hdr, Int32(BCF_DT_ID), d.flt[i]))) }
        let id = d.id.map { String(cString: $0) }
        var genotypes: [[Int]] = []
        let count = withUnsafeMutablePointer(to: &gtBuffer) {
            bcf_get_format_values(hdr, rec, "GT", $0, &gtCapacity, Int32(BCF_HT_INT))
        }
        let nSamples = samples.count
        if count > 0, nSamples > 0, let gtBuffer {
            let values = gtBuffer.assumingMemoryBound(to: Int32.self)
            let per = Int(count) / nSamples
            for s in 0..<nSamples {
                var g: [Int] = []
                for i in 0..<per {
                    let v = values[s * per + i]
                    if v == bcf_int32_vector_end { break }
                    g.append(v >> 1 == 0 ? -1 : Int(v >> 1) - 1)   // bcf_gt_is_missing / bcf_gt_allele
                }
                genotypes.append(g)
            }
        }
        recordCount += 1
        return VariantRecord(contig: String(cString: mdna_bcf_hdr_id2name(hdr, rec.pointee.rid)),
                             position: Int(rec.pointee.pos), id: id == "." ? nil : id,
                             ref: alleles.first ?? "", alts: Array(alleles.dropFirst()),
                             qual: mdna_bcf_qual_is_missing(rec) != 0 ? nil : rec.pointee.qual,
                             filters: filters, genotypes: genotypes)
    }

    /// As `read()`, for `for … in`: iteration ends at the end of the file or at the first error,
    /// which is then in `error`.
    public func next() -> VariantRecord? {
        guard error == nil else { return nil }
        do { return try read() } catch let e as SeqIOError { error = e; return nil } catch { return nil }
    }
}
