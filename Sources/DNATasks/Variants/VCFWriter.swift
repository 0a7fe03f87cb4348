import CHTSLib
import Foundation
import SeqIO

/// Writes calls as VCF 4.3 through htslib: `.vcf.gz` (BGZF, with a tabix `.tbi` index), `.bcf`
/// (with a `.csi` index), otherwise plain VCF; `-` writes plain VCF to stdout.
///
/// The file is written under a temporary name in the same directory and renamed at the end (index
/// first), so a failed run leaves no partial output.
public enum VCFWriter {
    public struct Header {
        public var contigs: [Contig]
        public var reference: String
        public var sample: String
        public var source: String
        public var commandLine: String?
        public init(contigs: [Contig], reference: String, sample: String, source: String, commandLine: String? = nil) {
            self.contigs = contigs; self.reference = reference; self.sample = sample
            self.source = source; self.commandLine = commandLine
        }
    }

    /// Writes `calls` (already sorted in reference order) to `path`.
    /// - Parameter lowQual: calls with QUAL below it get FILTER `LowQual`, the rest `PASS`.
    /// - Throws: `VariantError` naming `path` when it cannot be written or indexed.
    public static func write(_ calls: [VariantCall], header: Header, to path: String, lowQual: Float = 20,
                             threads: Int = 1) throws {
        let toStdout = path == "-"
        let mode: String, indexKind: Int32
        if path.hasSuffix(".vcf.gz") || path.hasSuffix(".vcf.bgz") { mode = "wz"; indexKind = 0 }
        else if path.hasSuffix(".bcf") { mode = "wb"; indexKind = 14 }
        else { mode = "w"; indexKind = -1 }
        let url = URL(fileURLWithPath: path)
        let tmp = toStdout ? "-" : url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())").path
        let indexSuffix = indexKind == 0 ? ".tbi" : ".csi"
        let tmpIndex = tmp + indexSuffix
        func cleanUp() {
            if !toStdout { unlink(tmp); unlink(tmpIndex) }
        }
        do {
            try writeFile(calls, header: header, path: tmp, mode: mode, lowQual: lowQual, displayName: path)
            if toStdout { return }
            if indexKind >= 0 {
                let r = indexKind == 0
                    ? withUnsafePointer(to: tbx_conf_vcf) { tbx_index_build3(tmp, tmpIndex, 0, Int32(max(1, threads)), $0) }
                    : bcf_index_build3(tmp, tmpIndex, indexKind, Int32(max(1, threads)))
                guard r == 0 else { throw VariantError(file: path, "cannot build the index") }
                guard rename(tmpIndex, path + indexSuffix) == 0 else {
                    throw VariantError(file: path + indexSuffix, "cannot write: \(String(cString: strerror(errno)))")
                }
            }
            guard rename(tmp, path) == 0 else {
                unlink(path + indexSuffix)
                throw VariantError(file: path, "cannot write: \(String(cString: strerror(errno)))")
            }
        } catch {
            cleanUp()
            throw error
        }
    }

    private static func writeFile(_ calls: [VariantCall], header: Header, path: String, mode: String,
                                  lowQual: Float, displayName: String) throws {
        let fail = { (what: String) in VariantError(file: displayName, what) }
        guard let fp = hts_open(path, mode) else { throw fail("cannot open for writing: \(String(cString: strerror(errno)))") }
        var closed = false
        defer { if !closed { _ = hts_close(fp) } }
        guard let hdr = bcf_hdr_init("w") else { throw fail("cannot create a VCF header") }
        defer { bcf_hdr_destroy(hdr) }
        _ = bcf_hdr_set_version(hdr, "VCFv4.3")
        var lines = [
            "##FILTER=<ID=LowQual,Description=\"QUAL below \(Int(lowQual))\">",
            "##INFO=<ID=DP,Number=1,Type=Integer,Description=\"Reads at the site after read and base filters\">",
            "##INFO=<ID=VAF,Number=A,Type=Float,Description=\"Fraction of those reads supporting the allele\">",
            "##INFO=<ID=INDEL,Number=0,Type=Flag,Description=\"The allele is an insertion or deletion\">",
            "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">",
            "##FORMAT=<ID=GQ,Number=1,Type=Integer,Description=\"Genotype quality, Phred-scaled probability that the genotype is wrong\">",
            "##FORMAT=<ID=DP,Number=1,Type=Integer,Description=\"Reads at the site after read and base filters\">",
            "##FORMAT=<ID=AD,Number=R,Type=Integer,Description=\"Reads supporting the reference and the alternate allele\">",
        ]
        for c in header.contigs { lines.append("##contig=<ID=\(c.name),length=\(c.length)>") }
        let refURL = header.reference.hasPrefix("/") ? "file://\(header.reference)" : "file://\(FileManager.default.currentDirectoryPath)/\(header.reference)"
        lines.append("##reference=\(refURL)")
        lines.append("##source=\(header.source)")
        if let cmd = header.commandLine { lines.append("##mamba-dna_command=\(cmd)") }
        for l in lines where bcf_hdr_append(hdr, l) != 0 { throw fail("cannot add header line \(l)") }
        guard bcf_hdr_add_sample(hdr, header.sample) == 0, bcf_hdr_sync(hdr) == 0 else { throw fail("cannot add sample '\(header.sample)'") }
        guard bcf_hdr_write(fp, hdr) == 0 else { throw fail("cannot write the header") }

        let rec = bcf_init()!
        defer { bcf_destroy(rec) }
        let pass = bcf_hdr_id2int(hdr, Int32(BCF_DT_ID), "PASS")
        let low = bcf_hdr_id2int(hdr, Int32(BCF_DT_ID), "LowQual")
        for call in calls {
            bcf_clear(rec)
            let name = header.contigs[call.allele.contig].name
            rec.pointee.rid = bcf_hdr_id2int(hdr, Int32(BCF_DT_CTG), name)
            rec.pointee.pos = hts_pos_t(call.allele.position)
            let alleles = String(decoding: call.allele.ref, as: UTF8.self) + "," + String(decoding: call.allele.alt, as: UTF8.self)
            guard bcf_update_alleles_str(hdr, rec, alleles) == 0 else { throw fail("cannot set alleles \(alleles)") }
            rec.pointee.qual = call.qual
            var filter = call.qual < lowQual ? low : pass
            _ = bcf_update_filter(hdr, rec, &filter, 1)
            var dp = Int32(call.depth)
            _ = mdna_bcf_update_info_int32(hdr, rec, "DP", &dp, 1)
            var vaf = Float(call.altCount) / Float(max(1, call.depth))
            vaf = (vaf * 1000).rounded() / 1000
            _ = mdna_bcf_update_info_float(hdr, rec, "VAF", &vaf, 1)
            if !call.allele.isSNP { _ = mdna_bcf_update_info_flag(hdr, rec, "INDEL", 1) }
            var gt = call.genotype.map { Int32($0) }
            _ = mdna_bcf_update_gt_unphased(hdr, rec, &gt, Int32(gt.count))
            var gq = Int32(call.genotypeQuality)
            _ = mdna_bcf_update_format_int32(hdr, rec, "GQ", &gq, 1)
            _ = mdna_bcf_update_format_int32(hdr, rec, "DP", &dp, 1)
            var ad = [Int32(call.refCount), Int32(call.altCount)]
            _ = mdna_bcf_update_format_int32(hdr, rec, "AD", &ad, 2)
            guard bcf_write(fp, hdr, rec) == 0 else { throw fail("cannot write a record (disk full?)") }
        }
        closed = true
        guard hts_close(fp) == 0 else { throw fail("cannot finish writing (disk full?)") }
    }
}
