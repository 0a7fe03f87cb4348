import Foundation
import XCTest
@testable import MambaKernels

/// The SIMD kernels are built twice (x86-64-v3 and x86-64-v4) and one build is chosen per process (`KernelISA`).
/// The kernel tests run whichever build this CPU picks; on an AVX-512 CPU, `testAVX2BuildPassesTheKernelTests`
/// runs them again in a child process held to the AVX2 build, so both builds are checked against the references.
final class KernelISATests: XCTestCase {
    func testChoiceFollowsCPUAndRequest() {
        var v4 = CPUFeatures(avx512f: true)
        v4.x86_64_v4 = true
        let v3 = CPUFeatures(avx512f: true)   // AVX-512F alone is not x86-64-v4
        #if arch(x86_64)
        XCTAssertEqual(KernelISA.choose(features: v4, request: nil), .avx512)
        XCTAssertEqual(KernelISA.choose(features: v4, request: "avx512"), .avx512)
        #endif
        XCTAssertEqual(KernelISA.choose(features: v4, request: "avx2"), .avx2)
        XCTAssertEqual(KernelISA.choose(features: v3, request: nil), .avx2)
        XCTAssertEqual(KernelISA.choose(features: .none, request: nil), .avx2)
    }

    /// The build this process runs is the one the CPU and `MAMBA_DNA_KERNELS` ask for.
    func testCurrentFollowsTheEnvironment() {
        let request = ProcessInfo.processInfo.environment["MAMBA_DNA_KERNELS"]
        XCTAssertEqual(KernelISA.current, KernelISA.choose(features: CPUFeatures.current, request: request))
        if request == "avx2" { XCTAssertEqual(KernelISA.current, .avx2) }
    }

    /// The x86-64-v4 check agrees with what the kernel says the CPU has.
    func testV4MatchesProcCPUInfo() throws {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else {
            throw XCTSkip("no /proc/cpuinfo")
        }
        let set = Set(flags.split(separator: " ").map(String.init))
        let v4 = ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(set.contains)
        XCTAssertEqual(CPUFeatures.detect().x86_64_v4, v4)
    }

    func testAVX2BuildPassesTheKernelTests() throws {
        guard KernelISA.current == .avx512 else {
            throw XCTSkip("this process runs the AVX2 build: the kernel tests check it directly")
        }
        guard ProcessInfo.processInfo.environment["MAMBA_DNA_KERNELS"] == nil else { return }
        let binary = URL(fileURLWithPath: CommandLine.arguments[0])
        let tests = ["SelectiveScanTests", "CausalConv1dTests", "NormTests", "BackwardScanTests", "ScanParityTests",
                     "StridedKernelTests", "BackwardConvNormTests", "FastMathTests", "GemmNarrowTests"]
            .map { "MambaKernelsTests.\($0)" }
            + ["MambaKernelsTests.KernelISATests/testCurrentFollowsTheEnvironment",
               "MambaKernelsTests.GemmBF16Tests/testRoundToNearestEvenAndSpecials",
               "MambaKernelsTests.GemmBF16Tests/testRandomPatternsAreNearestEvenAndBulkMatchesScalar"]
        let p = Process()
        p.executableURL = binary
        p.arguments = [tests.joined(separator: ",")]
        var env = ProcessInfo.processInfo.environment
        env["MAMBA_DNA_KERNELS"] = "avx2"
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, String(text.suffix(4000)))
        // The child ran the tests it was given (a filter that matched nothing would also exit 0).
        XCTAssertTrue(text.contains("SelectiveScanTests") && text.contains("passed"), String(text.suffix(2000)))
    }
}
