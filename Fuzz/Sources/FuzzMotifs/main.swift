import DNATasks
import FuzzSupport

/// Motif files (JASPAR, plain .pfm, MEME minimal; told apart by content) as `annotate --motifs` reads them: parsed,
/// turned into scoring matrices with their score distributions (both strands), and run over a short sequence. The
/// same bytes are also read as a `--background` file.
private let sequence = Array("ACGTTGCCGCGGTACCCTAGAGGGCGCTATNNACGTACGATCGATCGGGCCCTTTAAAGGTACCAGCAGGGGGCGCCACCTAGTGG".utf8)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = Scratch.path("motifs.txt")
    guard write(FuzzInput(start: data, count: size), to: path) else { return 0 }

    _ = fuzzReturn {
        let (motifs, _) = try MotifFile.read(path: path)
        let scanner = try MotifScanner(motifs: motifs, background: .uniform)
        sequence.withUnsafeBufferPointer { scanner.scan($0, sequence: 0, offset: 0, starts: $0.count) }
        _ = scanner.finish()
    }
    return fuzzReturn { _ = try Background.read(path: path) }
}

runFuzzer { data, size in fuzzOne(data ?? UnsafePointer(bitPattern: 1)!, size) }
