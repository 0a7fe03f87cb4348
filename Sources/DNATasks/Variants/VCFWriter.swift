import Foundation
import SeqIO

/// Writes calls as VCF 4.3 through SeqIO's `VariantFileWriter`: `.vcf.gz` (BGZF, with a tabix `.tbi`
/// index), `.bcf` (with a `.csi` index), otherwise plain VCF; `-` writes plain VCF to stdout.
///
/// This type decides what a call looks like in VCF (the INFO/FORMAT fields, FILTER `LowQual`); the
/// file handling (temporary name renamed at the end, index first, so a failed run leaves no partial
/// output) is `VariantFileWriter`'s.
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

    /// The VCF header of a call set: FILTER/INFO/FORMAT declarations, contigs, reference, source.
    static func variantHeader(_ header: Header, lowQual: Float, refCalls: Bool = false) -> VariantHeader {
        let dp = "Reads at the site after read and base filters"
        var lines: [VariantHeader.Line] = [
            .other(key: "fileDate", value: ToolVersion.fileDate()),
            .filter(id: "LowQual", description: "QUAL below \(Int(lowQual))"),
            .info(VariantFieldDeclaration(id: "DP", number: "1", type: .integer, description: dp)),
            .info(VariantFieldDeclaration(id: "VAF", number: "A", type: .float, description: "Fraction of those reads supporting the allele")),
            .info(VariantFieldDeclaration(id: "INDEL", number: "0", type: .flag, description: "An allele is an insertion or deletion")),
            .format(VariantFieldDeclaration(id: "GT", number: "1", type: .string, description: "Genotype")),
            .format(VariantFieldDeclaration(id: "GQ", number: "1", type: .integer,
                                            description: "Genotype quality, Phred-scaled probability that the genotype is wrong")),
            .format(VariantFieldDeclaration(id: "DP", number: "1", type: .integer, description: dp)),
            .format(VariantFieldDeclaration(id: "AD", number: "R", type: .integer, description: "Reads supporting the reference and each alternate allele")),
        ]
        if refCalls { lines.insert(.filter(id: "RefCall", description: "Candidate the classifier genotypes as the reference"), at: 2) }
        lines += header.contigs.map { .contig($0) }
        let refURL = header.reference.hasPrefix("/") ? "file://\(header.reference)" : "file://\(FileManager.default.currentDirectoryPath)/\(header.reference)"
        lines.append(.other(key: "reference", value: refURL))
        lines.append(.other(key: "source", value: header.source))
        if let cmd = header.commandLine { lines.append(.other(key: "mamba-dna_command", value: cmd)) }
        return VariantHeader(lines: lines, samples: [header.sample])
    }

    /// One call as a VCF record: QUAL, FILTER `PASS`/`LowQual` (`RefCall` for a reference call),
    /// INFO DP/VAF/INDEL, FORMAT GT:GQ:DP:AD; a `1/2` call has two ALTs (VAF and AD per allele).
    /// POS is 1-based (`Allele.position` is 0-based).
    static func record(_ call: VariantCall, contigs: [Contig], lowQual: Float) -> VariantRecord {
        let dp = Int32(call.depth)
        var alts = [call.allele.alt], counts = [call.altCount]
        if let second = call.secondAlt { alts.append(second); counts.append(call.secondAltCount) }
        let vaf = counts.map { (Float($0) / Float(max(1, call.depth)) * 1000).rounded() / 1000 }
        var info = [VariantAttribute("DP", .integers([dp])), VariantAttribute("VAF", .floats(vaf))]
        if alts.contains(where: { $0.count != 1 }) || call.allele.ref.count != 1 { info.append(VariantAttribute("INDEL", .flag)) }
        return VariantRecord(contig: contigs[call.allele.contig].name, position: call.allele.position,
                             ref: String(decoding: call.allele.ref, as: UTF8.self),
                             alts: alts.map { String(decoding: $0, as: UTF8.self) },
                             qual: call.qual, filters: [call.isRefCall ? "RefCall" : call.qual < lowQual ? "LowQual" : "PASS"], info: info,
                             genotypes: [call.genotype.map { Int($0) }],
                             format: [VariantAttribute("GQ", .integers([Int32(call.genotypeQuality)])),
                                      VariantAttribute("DP", .integers([dp])),
                                      VariantAttribute("AD", .integers(([call.refCount] + counts).map { Int32($0) }))])
    }

    /// Writes `calls` (already sorted in reference order) to `path`.
    /// - Parameters:
    ///   - lowQual: calls with QUAL below it get FILTER `LowQual`, the rest `PASS`.
    ///   - refCalls: declare FILTER `RefCall` (the calls include reference calls).
    /// - Throws: `SeqIOError` naming `path` when it cannot be written or indexed.
    public static func write(_ calls: [VariantCall], header: Header, to path: String, lowQual: Float = 20,
                             refCalls: Bool = false, threads: Int = 1, inputs: [String] = []) throws {
        let writer = try VariantFileWriter(path: path, header: variantHeader(header, lowQual: lowQual, refCalls: refCalls),
                                           threads: threads, inputs: inputs)
        for call in calls { try writer.write(record(call, contigs: header.contigs, lowQual: lowQual)) }
        try writer.finish()
    }
}
