import XCTest
@testable import SeqIO
@testable import DNATasks

/// Haplotypes from a local de Bruijn assembly (`LocalAssembly`) of hand-made reads.
final class LocalAssemblyTests: XCTestCase {
    /// `n` pseudo-random bases (no repeated 25-mer to speak of).
    func random(_ n: Int, seed: UInt32) -> [UInt8] {
        var x = seed
        return (0..<n).map { _ in
            x = x &* 1_103_515_245 &+ 12345
            return Array("ACGT".utf8)[Int((x >> 16) & 3)]
        }
    }

    /// Reads of `length` bases every `step` bases along `sequence`, all at quality 30.
    func tile(_ sequence: [UInt8], length: Int = 100, step: Int = 4) -> [LocalAssembly.Read] {
        stride(from: 0, through: sequence.count - length, by: step).map {
            LocalAssembly.Read(sequence: Array(sequence[$0..<($0 + length)]), qualities: [UInt8](repeating: 30, count: length))
        }
    }

    func testInsertionNextToDeletionAssemblesIntoOneHaplotypeWithBothAlleles() throws {
        let ref = random(300, seed: 7)
        // A 5-base deletion of reference 141..<146, then 9 bases on, a 17-base insertion before reference 155.
        let inserted = random(17, seed: 99)
        let alt = Array(ref[..<141]) + Array(ref[146..<155]) + inserted + Array(ref[155...])
        let reads = tile(alt) + tile(ref, step: 10)
        let result = try XCTUnwrap(LocalAssembly.haplotypes(reference: ref, reads: reads, minBaseQuality: 13))
        XCTAssertEqual(result.k, 25)
        XCTAssertEqual(result.haplotypes.first, alt)
        // Window 500 bases into the contig, with 100 more reference bases on its left for normalisation.
        let flank = random(100, seed: 3), start = 500
        let alleles = try XCTUnwrap(LocalAssembly.alleles(haplotype: alt, reference: ref, start: start, contig: 0,
                                                          window: flank + ref, windowStart: start - 100))
        let expectedDeletion = (flank + ref).withUnsafeBufferPointer {
            IndelNormalizer.normalize(at: start + 141, inserted: [], deleted: 5, window: $0, windowStart: start - 100)!
        }
        let expectedInsertion = (flank + ref).withUnsafeBufferPointer {
            IndelNormalizer.normalize(at: start + 155, inserted: inserted, deleted: 0, window: $0, windowStart: start - 100)!
        }
        XCTAssertEqual(alleles, [Allele(contig: 0, position: expectedDeletion.position, ref: expectedDeletion.ref, alt: expectedDeletion.alt),
                                 Allele(contig: 0, position: expectedInsertion.position, ref: expectedInsertion.ref, alt: expectedInsertion.alt)])
        XCTAssertEqual(alleles.map(\.lengthChange), [-5, 17])

        // Haplotype evidence with the assembled haplotype: a read through both events counts for each,
        // where reference-plus-one-allele haplotypes alone leave it fitting none well.
        let haps = HaplotypeEvidence.Haplotypes(start: start, reference: ref, alleles: [alleles[0]],
                                                assembled: [(alt, alleles)])
        let read = HaplotypeEvidence.Read(sequence: Array(alt[90..<210]), qualities: [UInt8](repeating: 30, count: 120),
                                          leftStart: start + 90, rightEnd: start + 90 + 120 + 12)
        XCTAssertEqual(HaplotypeEvidence.support(read, haps, allele: 0), .allele)
        XCTAssertEqual(HaplotypeEvidence.support(read, haps, allele: haps.alleles.firstIndex(of: alleles[1])!), .allele)
        let refRead = HaplotypeEvidence.Read(sequence: Array(ref[90..<210]), qualities: [UInt8](repeating: 30, count: 120),
                                             leftStart: start + 90, rightEnd: start + 210)
        XCTAssertEqual(HaplotypeEvidence.support(refRead, haps, allele: 0), .against)
    }

    func testReferenceOnlyReadsGiveNoHaplotype() throws {
        let ref = random(250, seed: 11)
        let result = try XCTUnwrap(LocalAssembly.haplotypes(reference: ref, reads: tile(ref, step: 3), minBaseQuality: 13))
        XCTAssertEqual(result.haplotypes, [])
    }

    func testErrorsUnderTheBaseQualityFloorAreMasked() throws {
        let ref = random(250, seed: 5)
        var reads = tile(ref, step: 5)
        // The same wrong base in three reads, at quality 5: below the floor it splits the reads, so no branch.
        for i in 0..<3 {
            var r = reads[10 + i]
            let at = 120 - 5 * (10 + i)
            r.sequence[at] = r.sequence[at] == UInt8(ascii: "A") ? UInt8(ascii: "C") : UInt8(ascii: "A")
            r.qualities[at] = 5
            reads[10 + i] = r
        }
        let masked = try XCTUnwrap(LocalAssembly.haplotypes(reference: ref, reads: reads, minBaseQuality: 13))
        XCTAssertEqual(masked.haplotypes, [])
        // At a floor of 5 the base counts, and three reads make a haplotype with the substitution.
        let kept = try XCTUnwrap(LocalAssembly.haplotypes(reference: ref, reads: reads, minBaseQuality: 5))
        XCTAssertEqual(kept.haplotypes.count, 1)
        let events = LocalAssembly.events(haplotype: kept.haplotypes[0], reference: ref)
        XCTAssertEqual(events, [LocalAssembly.Event(at: 120, substitute: reads[10].sequence[120 - 50])])
    }

    func testRepeatInTheWindowRetriesAtALargerKOrGivesUp() throws {
        // A 30-base segment twice: its 25-mers repeat, its 35-mers do not.
        let unit = random(30, seed: 21)
        let ref = random(100, seed: 22) + unit + random(60, seed: 23) + unit + random(100, seed: 24)
        XCTAssertNil(LocalAssembly.Graph(k: 25, reference: ref, reads: [], minBaseQuality: 13))
        var alt = ref
        alt.remove(at: 80)   // a 1-base deletion, outside the repeat
        let result = try XCTUnwrap(LocalAssembly.haplotypes(reference: ref, reads: tile(alt) + tile(ref, step: 9), minBaseQuality: 13))
        XCTAssertEqual(result.k, 35)
        XCTAssertEqual(result.haplotypes.first, alt)
        // A 60-base segment twice repeats at every k tried: no haplotypes at all.
        let long = random(60, seed: 31)
        let repetitive = random(100, seed: 32) + long + random(40, seed: 33) + long + random(100, seed: 34)
        XCTAssertNil(LocalAssembly.haplotypes(reference: repetitive, reads: tile(repetitive), minBaseQuality: 13))
    }

    func testTandemDuplicationThatLoopsAtK25IsAssembledAtALargerK() throws {
        let ref = random(300, seed: 51)
        // 30 reference bases repeated in tandem: at k = 25 the reads' path returns to reference k-mers (a cycle).
        let alt = Array(ref[..<150]) + Array(ref[120..<150]) + Array(ref[150...])
        let result = try XCTUnwrap(LocalAssembly.haplotypes(reference: ref, reads: tile(alt), minBaseQuality: 13))
        XCTAssertEqual(result.k, 35)
        XCTAssertEqual(result.haplotypes, [alt])
    }

    /// Through the scanner, as `CandidateGenerator` runs it: a 5-bp deletion candidate whose reads go on with a
    /// 17-bp insertion 9 bases later (clipped there by the aligner) fit neither the reference nor the deletion
    /// haplotype; assembly of the region gives the insertion as a candidate of its own, with the reads counted for it.
    func testScannerAssemblesAnActiveRegionIntoANewIndelCandidate() throws {
        let start = 1000
        let ref = random(400, seed: 12345)
        let inserted = random(17, seed: 77)
        // Sample: reference 141..<146 deleted, `inserted` before reference 155.
        let sample = Array(ref[..<141]) + Array(ref[146..<155]) + inserted + Array(ref[155...])
        func read(_ s: Int, reverse: Bool) -> AlignedRead {
            let cigar: [CigarOperation]
            let position: Int
            func op(_ c: Character, _ n: Int) -> CigarOperation { CigarOperation(op: c.asciiValue!, length: n) }
            if s + 100 <= 141 { cigar = [op("M", 100)]; position = s }
            else if s >= 167 { cigar = [op("M", 100)]; position = s - 12 }
            else if s < 141 { cigar = [op("M", 141 - s), op("S", 100 - (141 - s))]; position = s }
            else { cigar = [op("S", 167 - s), op("M", 100 - (167 - s))]; position = 155 }
            let clip = cigar.filter { $0.op == UInt8(ascii: "S") }.reduce(0) { $0 + $1.length }
            return AlignedRead(position: start + position, cigar: cigar, sequence: Array(sample[s..<(s + 100)]),
                               qualities: [UInt8](repeating: 35, count: 100), isReverse: reverse, mappingQuality: 60,
                               summary: ReadSummary(editDistance: 0, softClipped: clip, scoreMargin: ReadSummary.noMargin,
                                                    discordant: false, split: false))
        }
        // Offsets every 6 bases (none of them 141 or 142, whose leading clips alone would suggest the insertion).
        let reads = stride(from: 20, through: 290, by: 6).map { read($0, reverse: $0 % 12 == 0) }
        let deletion = Allele(contig: 0, position: start + 140, ref: Array(ref[140...145]), alt: [ref[140]])

        func run(assemble: Bool) -> (windows: [Range<Int>], found: [Candidate]) {
            var options = CandidateOptions()
            options.assemble = assemble
            let s = CandidateScanner(contig: 0, scanRange: start..<(start + 400), keepRange: start..<(start + 400),
                                     window: ref, windowStart: start, options: options)
            for r in reads {
                for p in r.position..<r.referenceEnd {
                    guard let i = s.columns.index(p) else { continue }
                    s.columns.depth[i] += 1; s.columns.refReads[i] += 1
                }
            }
            // The deletion as the pileup would hold it from two reads' CIGARs.
            var ev = AlleleEvidence()
            ev.forward = 1; ev.reverse = 1
            s.alleles[deletion] = ev
            s.prepareHaplotypeSites()
            for r in reads { s.collect(r); s.noteClips(r) }
            _ = s.addClipSites()
            for r in reads { s.collectForNewSites(r) }
            let windows = s.assemble()
            for r in reads { s.collectForNewSites(r) }
            return (windows, s.finish())
        }
        let insertion = try XCTUnwrap(ref.withUnsafeBufferPointer {
            IndelNormalizer.normalize(at: start + 155, inserted: inserted, deleted: 0, window: $0, windowStart: start)
        })
        let insertionAllele = Allele(contig: 0, position: insertion.position, ref: insertion.ref, alt: insertion.alt)

        let off = run(assemble: false)
        XCTAssertEqual(off.windows, [])
        XCTAssertFalse(off.found.contains { $0.allele == insertionAllele })
        let offDeletion = try XCTUnwrap(off.found.first { $0.allele == deletion })

        let on = run(assemble: true)
        XCTAssertEqual(on.windows.count, 1)
        let found = try XCTUnwrap(on.found.first { $0.allele == insertionAllele })
        XCTAssertGreaterThanOrEqual(found.altCount, 10)
        XCTAssertEqual(found.refCount, 0)
        let onDeletion = try XCTUnwrap(on.found.first { $0.allele == deletion })
        // Reads that fit no haplotype before now fit the assembled one: more of them count for the deletion.
        XCTAssertGreaterThan(onDeletion.altCount, offDeletion.altCount)
        XCTAssertEqual(onDeletion.refCount, 0)
    }

    func testEventsOfSubstitutionsAndIndels() {
        var ref = random(120, seed: 41)
        // Bases that leave each indel one placement (no shift left or right).
        for (i, b) in [(59, "A"), (63, "C"), (60, "A"), (64, "C"), (89, "T"), (90, "T")] { ref[i] = UInt8(ascii: Unicode.Scalar(b)!) }
        var hap = ref
        hap[30] = hap[30] == UInt8(ascii: "G") ? UInt8(ascii: "T") : UInt8(ascii: "G")
        hap.removeSubrange(60..<64)
        hap.insert(contentsOf: Array("ACGTACG".utf8), at: 90 - 4)
        XCTAssertEqual(LocalAssembly.events(haplotype: hap, reference: ref),
                       [LocalAssembly.Event(at: 30, substitute: hap[30]), LocalAssembly.Event(at: 60, deleted: 4),
                        LocalAssembly.Event(at: 90, inserted: Array("ACGTACG".utf8))])
        XCTAssertEqual(LocalAssembly.events(haplotype: ref, reference: ref), [])
    }
}
