import Foundation
import XCTest
@testable import DNATasks

/// Encoder features of variant candidates (`ContextEmbedding`) and variant models that carry their encoder.
/// The bundled species encoder may be retrained, so nothing here depends on its weights: only on
/// properties every encoder has (strand symmetry, batching, shapes).
final class VariantEmbeddingTests: XCTestCase {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    func fixture(_ name: String) -> String { Self.repo.appendingPathComponent("Fixtures/variants/\(name)").path }

    var work: URL!
    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("variant-emb-tests-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }
    func path(_ name: String) -> String { work.appendingPathComponent(name).path }

    /// A pseudo-random reference of `n` bases from `seed`.
    func reference(_ n: Int, seed: UInt64) -> [UInt8] {
        var s = seed
        return (0..<n).map { _ in
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return Array("ACGT".utf8)[Int(s >> 62)]
        }
    }
    func lookup(_ r: [UInt8]) -> (Int) -> UInt8? { { $0 >= 0 && $0 < r.count ? r[$0] : nil } }
    func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    func encoder() throws -> ContextEmbedding {
        let dir = try XCTUnwrap(DefaultModels.species(), "bundled species model")
        return try ContextEmbedding(directory: dir)
    }

    func testWindowsOfSNPDeletionInsertionAndContigEnds() {
        let ref = bytes("ACGTACGTAACCGGTT")   // 16 bases
        let f = lookup(ref)
        let snp = ContextEmbedding.window(Allele(contig: 0, position: 5, ref: bytes("C"), alt: bytes("T")), flank: 3, reference: f)
        XCTAssertEqual(snp, .init(ref: bytes("GTACGTA"), alt: bytes("GTATGTA"), left: 3, right: 3))
        let del = ContextEmbedding.window(Allele(contig: 0, position: 8, ref: bytes("AAC"), alt: bytes("A")), flank: 2, reference: f)
        XCTAssertEqual(del, .init(ref: bytes("GTAACCG"), alt: bytes("GTACG"), left: 2, right: 2))
        let ins = ContextEmbedding.window(Allele(contig: 0, position: 3, ref: bytes("T"), alt: bytes("TGG")), flank: 2, reference: f)
        XCTAssertEqual(ins, .init(ref: bytes("CGTAC"), alt: bytes("CGTGGAC"), left: 2, right: 2))
        // Flanks stop at the contig's ends.
        let first = ContextEmbedding.window(Allele(contig: 0, position: 1, ref: bytes("C"), alt: bytes("A")), flank: 4, reference: f)
        XCTAssertEqual(first, .init(ref: bytes("ACGTAC"), alt: bytes("AAGTAC"), left: 1, right: 4))
        let last = ContextEmbedding.window(Allele(contig: 0, position: 15, ref: bytes("T"), alt: bytes("G")), flank: 4, reference: f)
        XCTAssertEqual(last, .init(ref: bytes("CGGTT"), alt: bytes("CGGTG"), left: 4, right: 0))
    }

    /// A SNP and its image on the reverse-complement reference get the same features: the two strands'
    /// summaries are averaged, and the image swaps them.
    func testFeaturesAreStrandSymmetricAndInRange() throws {
        let e = try encoder()
        let ref = reference(300, seed: 3)
        let rc = ref.reversed().map { b -> UInt8 in
            switch b { case UInt8(ascii: "A"): return UInt8(ascii: "T"); case UInt8(ascii: "C"): return UInt8(ascii: "G")
            case UInt8(ascii: "G"): return UInt8(ascii: "C"); default: return UInt8(ascii: "A") }
        }
        for p in [5, 120, 150, 296] {
            let alt: UInt8 = ref[p] == UInt8(ascii: "A") ? UInt8(ascii: "G") : UInt8(ascii: "A")
            let comp: UInt8 = alt == UInt8(ascii: "A") ? UInt8(ascii: "T") : UInt8(ascii: "C")
            let a = e.features([Allele(contig: 0, position: p, ref: [ref[p]], alt: [alt])], reference: lookup(ref))[0]
            let q = ref.count - 1 - p
            let b = e.features([Allele(contig: 0, position: q, ref: [rc[q]], alt: [comp])], reference: lookup(rc))[0]
            XCTAssertEqual(a.count, ContextEmbedding.names.count)
            for k in a.indices { XCTAssertEqual(a[k], b[k], accuracy: 1e-4, "position \(p), \(ContextEmbedding.names[k])") }
            for k in 0..<3 { XCTAssertTrue(a[k] >= -1e-5 && a[k] <= 2 + 1e-5, "cosine distance \(a[k])") }
            XCTAssertGreaterThan(a[0], 0, "a changed base changes the hidden state at the site")
            XCTAssertTrue(a.allSatisfy(\.isFinite))
        }
    }

    /// Many candidates run in several packed batches; each gets the features it gets alone.
    func testPackedBatchesGiveEachCandidateItsOwnFeatures() throws {
        let e = try encoder()
        let ref = reference(4000, seed: 11)
        var alleles: [Allele] = []
        for p in stride(from: 40, to: 3900, by: 25) {
            switch (p / 25) % 3 {
            case 0: alleles.append(Allele(contig: 0, position: p, ref: [ref[p]], alt: [ref[p] == UInt8(ascii: "C") ? UInt8(ascii: "T") : UInt8(ascii: "C")]))
            case 1: alleles.append(Allele(contig: 0, position: p, ref: Array(ref[p...(p + 3)]), alt: [ref[p]]))
            default: alleles.append(Allele(contig: 0, position: p, ref: [ref[p]], alt: [ref[p]] + bytes("GATTACA")))
            }
        }
        let tokens = alleles.reduce(0) { $0 + 4 * (2 * ContextEmbedding.flank) + 2 * ($1.ref.count + $1.alt.count) }
        XCTAssertGreaterThan(tokens, 2 * ContextEmbedding.batchTokens, "the test needs several batches")
        let together = e.features(alleles, reference: lookup(ref))
        XCTAssertEqual(together.count, alleles.count)
        for (i, a) in alleles.enumerated() where i % 7 == 0 {
            let alone = e.features([a], reference: lookup(ref))[0]
            for k in alone.indices { XCTAssertEqual(together[i][k], alone[k], accuracy: 1e-5, "allele \(i), feature \(k)") }
        }
    }

    func testTrainedModelCarriesItsEncoder() throws {
        let model = path("model")
        let r = try CLIRunner.run(["train", "--task", "variants", "--bam", fixture("aln.bam"), "--reference", fixture("ref.fa"),
                                   "--truth", fixture("truth.vcf.gz"), "--mlp-epochs", "50",
                                   "--variant-encoder", try XCTUnwrap(DefaultModels.species()), "-o", model])
        XCTAssertEqual(r.status, 0, r.stderr)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model + "/config.json"))) as? [String: Any]
        let features = config?["features"] as? [String] ?? []
        XCTAssertEqual(Array(features.suffix(ContextEmbedding.names.count)), ContextEmbedding.names)
        XCTAssertTrue(FileManager.default.fileExists(atPath: model + "/encoder/model.safetensors"))
        let calls = try CLIRunner.run(["annotate", fixture("aln.bam"), "-f", fixture("ref.fa"), "--variant-model", model])
        XCTAssertEqual(calls.status, 0, calls.stderr)
        XCTAssertTrue(calls.stdout.hasPrefix("##fileformat=VCFv4.3"))

        // Without its encoder the model is refused with one line, and no output is written.
        try FileManager.default.removeItem(atPath: model + "/encoder")
        let out = path("calls.vcf")
        let broken = try CLIRunner.run(["annotate", fixture("aln.bam"), "-f", fixture("ref.fa"), "--variant-model", model, "-o", out])
        try CLIRunner.assertFailedCleanly(broken, naming: [model + "/encoder"])
        XCTAssertEqual(broken.stderr.split(separator: "\n").count, 1, broken.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    /// Without --variant-encoder, pileup features only (as the shipped model).
    func testPileupOnlyModelAndBadEncoder() throws {
        let model = path("plain")
        let r = try CLIRunner.run(["train", "--task", "variants", "--bam", fixture("aln.bam"), "--reference", fixture("ref.fa"),
                                   "--truth", fixture("truth.vcf.gz"), "--mlp-epochs", "20", "-o", model])
        XCTAssertEqual(r.status, 0, r.stderr)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model + "/config.json"))) as? [String: Any]
        XCTAssertEqual(config?["features"] as? [String], VariantFeatures.names)
        XCTAssertFalse(FileManager.default.fileExists(atPath: model + "/encoder"))
        let calls = try CLIRunner.run(["annotate", fixture("aln.bam"), "-f", fixture("ref.fa"), "--variant-model", model])
        XCTAssertEqual(calls.status, 0, calls.stderr)

        let missing = path("no-such-encoder"), out = path("bad")
        let bad = try CLIRunner.run(["train", "--task", "variants", "--bam", fixture("aln.bam"), "--reference", fixture("ref.fa"),
                                     "--truth", fixture("truth.vcf.gz"), "--variant-encoder", missing, "-o", out])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains(missing), bad.stderr)
        XCTAssertEqual(bad.stderr.split(separator: "\n").count, 1, bad.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }
}
