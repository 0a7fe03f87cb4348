import FuzzSupport
import SeqIO

/// Regions: each line of the input is parsed as `-r` text (samtools syntax) on its own, against a contig list
/// (as `annotate -r` and `AlignmentReader.query` do) and fetched from an indexed FASTA (as `embed -r` does); the
/// whole input is also read as a `-R` BED file, with and without the contig list.
private let reference: ReferenceFasta? = {
    HTSLibLogLevel.off.apply()
    let fasta = ">chr1\n" + String(repeating: "ACGTTGCA", count: 40) + "\n>chr2 second\nNNNNACGT\nAC\n"
        + ">HLA-A*01:01\nGATTACA\n>chr1:100\nTTTT\n"
    let path = Scratch.path("ref.fa")
    guard Array(fasta.utf8).withUnsafeBufferPointer({ write($0, to: path) }) else { return nil }
    return try? ReferenceFasta(path: path, createIndex: true)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = FuzzInput(start: data, count: size)
    let contigs = reference?.contigs ?? []
    for line in input.split(separator: 0x0A, omittingEmptySubsequences: false).prefix(64) {
        let text = String(decoding: line, as: UTF8.self)
        _ = fuzzReturn { _ = try Region.parse(text) }
        _ = fuzzReturn { _ = try Region.parse(text, contigs: contigs, source: "-r") }
        _ = fuzzReturn { _ = try reference?.fetch(text) }
    }
    let bed = Scratch.path("regions.bed")
    guard write(input, to: bed) else { return 0 }
    _ = fuzzReturn { _ = try BEDReader.read(path: bed) }
    return fuzzReturn { _ = try BEDReader.read(path: bed, contigs: contigs) }
}

runFuzzer { data, size in fuzzOne(data ?? UnsafePointer(bitPattern: 1)!, size) }
