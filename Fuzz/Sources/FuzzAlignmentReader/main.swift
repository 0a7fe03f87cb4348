import DNATasks
import Foundation
import FuzzSupport
import SeqIO

/// SAM/BAM/CRAM through htslib: byte 0 picks the packing of the rest (`Packing`; BGZF turns an uncompressed BAM
/// stream into a BAM file, so the fuzzer mutates records rather than deflate blocks). Each input is read as `info`
/// reads it, record by record with every field decoded (as `classify` and `train` read primary reads), and through
/// the pileup engine with read summaries (as `annotate` reads alignments).
///
/// CRAM records are decoded against `MAMBA_FUZZ_REFERENCE` (scripts/fuzz gives Fixtures/seqio/ref.fa); the
/// reference is never looked up over the network.
private let setUp: String? = {
    HTSLibLogLevel.off.apply()
    setenv("REF_PATH", Scratch.path("no-ref-path"), 1)
    setenv("REF_CACHE", Scratch.path("no-ref-cache"), 1)
    return ProcessInfo.processInfo.environment["MAMBA_FUZZ_REFERENCE"]
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let reference = setUp
    let (packing, content) = Packing.split(FuzzInput(start: data, count: size))
    let path = Scratch.path("aln")
    guard write(content, to: path, packing: packing) else { return 0 }

    _ = fuzzReturn { _ = try FileInfo.describe(path: path, reference: reference) }
    _ = fuzzReturn {
        guard case .alignments(let reader) = try InputFile.open(path: path, reference: reference) else { return }
        _ = (reader.contigs, reader.sampleNames)
        while let r = try reader.next() {
            _ = (r.name, r.flags, r.contig, r.mateContig, r.position, r.endPosition, r.mappingQuality)
            _ = (r.cigarString, r.cigar.map { ($0.consumesQuery, $0.consumesReference) }, r.originalOrientation)
            for tag in ["NM", "MD", "AS", "XS", "RG", "SA", "XA", "XF", "BC"] { _ = r.aux(tag) }
        }
    }
    return fuzzReturn {
        let reader = try AlignmentReader(path: path, reference: reference)
        let pileup = try Pileup(reader: reader, readSummaries: true)
        var columns = 0
        while let column = try pileup.next(), columns < 20_000 {
            columns += 1
            _ = column.entries.map { ($0.base, $0.indel, $0.insertedBases, $0.readSummary) }
        }
    }
}

runFuzzer { data, size in fuzzOne(data ?? UnsafePointer(bitPattern: 1)!, size) }
