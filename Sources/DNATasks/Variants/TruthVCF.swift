import CHTSLib
import Foundation
import SeqIO

/// Truth variants for training, read through htslib (VCF, bgzipped VCF or BCF).
public enum TruthVCF {
    /// Genotype class per allele: 1 = heterozygous, 2 = homozygous or haploid (the classifier's
    /// `0/1` / `1/1`). Records are expected normalised (`bcftools norm -f REF -m -any`); multi-allelic
    /// records are split here. Alleles whose GT holds none of their index, or symbolic alleles, are skipped;
    /// without a GT column every allele counts as `1/1`.
    /// - Parameter contigs: the reference's contigs; `Allele.contig` indexes this list.
    /// - Throws: `VariantError` naming `path` when it cannot be read or a record's contig is not in the reference.
    public static func read(path: String, contigs: [Contig], referenceName: String) throws -> [Allele: Int] {
        try readWithPloidy(path: path, contigs: contigs, referenceName: referenceName).alleles
    }

    /// As `read`, plus the ploidy the genotypes show: 2 when any GT has two alleles, else 1.
    public static func readWithPloidy(path: String, contigs: [Contig], referenceName: String) throws -> (alleles: [Allele: Int], ploidy: Int) {
        guard let fp = hts_open(path, "r") else { throw VariantError(file: path, "cannot open as VCF/BCF") }
        defer { _ = hts_close(fp) }
        guard let hdr = bcf_hdr_read(fp) else { throw VariantError(file: path, "cannot read the VCF header") }
        defer { bcf_hdr_destroy(hdr) }
        let index = Dictionary(contigs.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
        let rec = bcf_init()!
        defer { bcf_destroy(rec) }
        var out: [Allele: Int] = [:]
        var gt = [Int32](repeating: 0, count: 8)
        var ploidy = 1
        while true {
            let r = bcf_read(fp, hdr, rec)
            if r == -1 { break }
            if r < 0 { throw VariantError(file: path, "truncated or malformed VCF record after \(out.count) variants") }
            let name = String(cString: mdna_bcf_hdr_id2name(hdr, rec.pointee.rid))
            guard let ci = index[name] else {
                throw VariantError(file: path, "contig '\(name)' is not in the reference \(referenceName)")
            }
            _ = bcf_unpack(rec, 15)   // BCF_UN_ALL (a macro)
            let n = Int(rec.pointee.n_allele)
            guard n >= 2 else { continue }
            let alleles = (0..<n).map { Array(String(cString: rec.pointee.d.allele[$0]!).uppercased().utf8) }
            let ngt = gt.withUnsafeMutableBufferPointer { mdna_bcf_first_gt(hdr, rec, $0.baseAddress!, 8) }
            let calls = ngt > 0 ? Array(gt[0..<Int(ngt)]) : []
            if calls.count >= 2 { ploidy = 2 }
            for k in 1..<n {
                let alt = alleles[k]
                if alt.first == UInt8(ascii: "<") || alt == [UInt8(ascii: "*")] || alt == [UInt8(ascii: ".")] { continue }
                let copies = calls.filter { $0 == Int32(k) }.count
                let cls: Int
                if calls.isEmpty { cls = 2 } else if copies == 0 { continue } else { cls = copies == calls.count ? 2 : 1 }
                out[Allele(contig: ci, position: Int(rec.pointee.pos), ref: alleles[0], alt: alt)] = cls
            }
        }
        return (out, ploidy)
    }
}
