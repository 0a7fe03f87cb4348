import DNATasks
import Foundation
import FuzzSupport
import SeqIO

/// FASTA/FASTQ through the sequence readers: byte 0 picks plain, gzip or BGZF packing of the rest (`Packing`).
/// Each input is read as `info` reads it (the summary pass), as `classify`/`embed`/`train` read it (every record
/// copied out through `InputFile`), and as an indexed reference (`-f`, `embed -r`: faidx index built, every
/// contig fetched).
private let quiet: Void = HTSLibLogLevel.off.apply()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = quiet
    let (packing, content) = Packing.split(FuzzInput(start: data, count: size))
    let path = Scratch.path("reads.fa")
    for index in [".fai", ".gzi"] { try? FileManager.default.removeItem(atPath: path + index) }
    guard write(content, to: path, packing: packing) else { return 0 }

    _ = fuzzReturn { _ = try FileInfo.describe(path: path) }
    _ = fuzzReturn {
        switch try InputFile.open(path: path) {
        case .sequences(let reader):
            while let record = try reader.next() { _ = (record.name, record.comment, record.sequence, record.qualities) }
        case .alignments(let reader):
            while let record = try reader.next() { _ = (record.name, record.originalOrientation) }
        }
    }
    return fuzzReturn {
        let reference = try ReferenceFasta(path: path, createIndex: true)
        for contig in reference.contigs.prefix(16) {
            _ = try reference.fetch(Region(contig: contig.name, start: 0, end: min(contig.length, 1 << 16)))
        }
    }
}

runFuzzer { data, size in fuzzOne(data ?? UnsafePointer(bitPattern: 1)!, size) }
