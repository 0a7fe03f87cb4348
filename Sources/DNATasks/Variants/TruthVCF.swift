import Foundation
import SeqIO

/// Truth variants for training, read with SeqIO's `VariantFileReader` (VCF, bgzipped VCF or BCF).
public enum TruthVCF {
    /// Genotype class per allele: 1 = heterozygous, 2 = homozygous or haploid (the classifier's
    /// `0/1` / `1/1`). Records are expected normalised (`bcftools norm -f REF -m -any`); multi-allelic
    /// records are split here. Alleles whose GT holds none of their index, or symbolic alleles, are skipped;
    /// without a GT column every allele counts as `1/1`.
    /// - Parameter contigs: the reference's contigs; `Allele.contig` indexes this list.
    /// - Throws: `SeqIOError` naming `path` when it cannot be read, `ToolError` when a record's contig is
    ///   not in the reference.
    public static func read(path: String, contigs: [Contig], referenceName: String) throws -> [Allele: Int] {
        try readWithPloidy(path: path, contigs: contigs, referenceName: referenceName).alleles
    }

    /// As `read`, plus the ploidy the genotypes show: 2 when any GT has two alleles, else 1.
    public static func readWithPloidy(path: String, contigs: [Contig], referenceName: String) throws -> (alleles: [Allele: Int], ploidy: Int) {
        let reader = try VariantFileReader(path: path)
        let index = Dictionary(contigs.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
        var out: [Allele: Int] = [:]
        var ploidy = 1
        while let rec = try reader.read() {
            guard let ci = index[rec.contig] else {
                throw ToolError(file: path, "contig '\(rec.contig)' is not in the reference \(referenceName)")
            }
            guard !rec.alts.isEmpty else { continue }
            let ref = Array(rec.ref.uppercased().utf8)
            // The first sample's GT (at most 8 alleles are looked at).
            let calls = rec.genotypes.first.map { Array($0.prefix(8)) } ?? []
            if calls.count >= 2 { ploidy = 2 }
            for (i, a) in rec.alts.enumerated() {
                let k = i + 1
                let alt = Array(a.uppercased().utf8)
                if alt.first == UInt8(ascii: "<") || alt == [UInt8(ascii: "*")] || alt == [UInt8(ascii: ".")] { continue }
                let copies = calls.filter { $0 == k }.count
                let cls: Int
                if calls.isEmpty { cls = 2 } else if copies == 0 { continue } else { cls = copies == calls.count ? 2 : 1 }
                out[Allele(contig: ci, position: rec.position, ref: ref, alt: alt)] = cls
            }
        }
        return (out, ploidy)
    }
}
