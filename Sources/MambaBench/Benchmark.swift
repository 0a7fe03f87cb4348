import Foundation
import MambaKernels
import MambaModel

/// `mamba-dna bench`: throughput of the kernels and of whole encoders, each figure the median of
/// `runs` timed runs after one warm-up, with the process's peak RSS when the figure was taken.
public enum Benchmark {
    public enum Suite: String, CaseIterable, Sendable { case scan, gemm, encoder, caduceus, packed }

    public struct Options: Sendable {
        public var suites: [Suite] = Suite.allCases
        public var threads = ProcessInfo.processInfo.activeProcessorCount
        public var runs = 5
        /// Encoder lengths (unidirectional stack); the default set is 512, 8,192, 65,536 and 1,048,576.
        public var lengths = [512, 8192, 65_536, 1_048_576]
        public var caduceusLength = 131_072
        /// Tokens handed to the streaming encoder per call (the output rows of one call are discarded); nil:
        /// the model's own chunk (`MambaLMModel.chunkRows`).
        public var streamChunk: Int?
        /// Whether the unidirectional stack runs long chunks as a layer pipeline (`MambaLMModel.layerPipeline`).
        public var layerPipeline = true
        /// Bases per packed batch of 150 bp reads.
        public var batchBases = 8192
        public var readLength = 150
        public var modelDirectory: String?
        public var saveModelDirectory: String?
        public var seed: UInt64 = 1
        /// Precisions the encoder, caduceus and packed suites run in, each figure once per precision, in this order.
        public var precisions: [Precision] = [.fp32, .bf16]
        public init() {}
    }

    /// One measured figure.
    public struct Result: Sendable {
        public var suite: String
        public var name: String
        public var threads: Int
        public var length: Int?
        public var runs: Int
        public var value: Double          // median
        public var unit: String
        public var min: Double, max: Double
        public var extra: [String: Double] = [:]
        public var peakRSSMiB: Double
        /// The encoder precision the figure was taken in (nil for the kernel suites), as `usePrecision` set it up.
        public var precision: PrecisionChoice?

        public var json: [String: Any] {
            var j: [String: Any] = ["suite": suite, "name": name, "threads": threads, "runs": runs, "median": value,
                                    "unit": unit, "min": min, "max": max, "peak_rss_mib": peakRSSMiB]
            if let length { j["length"] = length }
            if let precision {
                j["precision"] = precision.used.rawValue
                j["precision_detail"] = precision.description
            }
            for (k, v) in extra { j[k] = v }
            return j
        }
    }

    /// Runs the chosen suites; `report` sees each figure as soon as it is measured.
    public static func run(_ o: Options, report: (Result) -> Void) throws {
        for suite in o.suites {
            switch suite {
            case .scan: BenchKernels.scan(o, report)
            case .gemm: BenchKernels.gemm(o, report)
            case .encoder: try BenchEncoders.unidirectional(o, report)
            case .caduceus: try BenchEncoders.caduceus(o, report)
            case .packed: try BenchEncoders.packed(o, report)
            }
        }
    }

    /// A figure from per-run samples: `perRun` turns one run's seconds into the reported quantity.
    static func result(_ suite: Suite, _ name: String, threads: Int, length: Int?, unit: String, seconds: [Double],
                       _ perRun: (Double) -> Double) -> Result {
        let v = seconds.map(perRun)
        return Result(suite: suite.rawValue, name: name, threads: threads, length: length, runs: v.count,
                      value: BenchClock.median(v), unit: unit, min: v.min()!, max: v.max()!,
                      peakRSSMiB: BenchClock.peakRSSMiB())
    }

    /// Header and one row of the printed table.
    public static let tableHeader = "suite\tfigure\tprecision\tthreads\tlength\tmedian\tunit\tmin\tmax\truns\tpeak_rss_MiB\tper_cpu_s\tper_process_cpu_s\tvs_fp32"
    public static func tableRow(_ r: Result) -> String {
        func f(_ x: Double) -> String { x >= 100 ? String(format: "%.0f", x) : String(format: "%.3g", x) }
        return [r.suite, r.name, r.precision?.used.rawValue ?? "-", "\(r.threads)", r.length.map(String.init) ?? "-", f(r.value), r.unit, f(r.min), f(r.max),
                "\(r.runs)", String(format: "%.0f", r.peakRSSMiB), r.extra["tokens_per_cpu_s"].map(f) ?? "-",
                r.extra["tokens_per_process_cpu_s"].map(f) ?? "-",
                r.extra["vs_fp32"].map { String(format: "%.2f", $0) } ?? "-"].joined(separator: "\t")
    }

    /// What the figures ran on: CPU model, OpenBLAS kernels, threads.
    public static func environment(_ o: Options) -> [String: Any] {
        var cpu = "unknown"
        if let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
           let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }) {
            cpu = line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? cpu
        }
        return ["cpu": cpu, "online_cpus": ProcessInfo.processInfo.activeProcessorCount,
                "openblas_core": Gemm.coreName, "threads": o.threads, "runs": o.runs,
                "cpu_features": CPUFeatures.current.description, "bf16_path": CPUFeatures.current.bf16Path.rawValue,
                "simd_kernels": KernelISA.current.rawValue]
    }
}
