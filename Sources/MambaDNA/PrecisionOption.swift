import ArgumentParser
import MambaModel

/// `--precision fp32|bf16` for the commands that run an encoder.
struct PrecisionOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Arithmetic of the encoder's matrix products: fp32, or bf16 (bf16 inputs, fp32 sums; on a CPU without bf16 instructions it runs fp32 and says so). Default: bf16 where the CPU has bf16 instructions, else fp32; `info MODEL` shows which.",
        valueName: "fp32|bf16"))
    var precision: String?

    func validate() throws {
        if let precision, Precision(rawValue: precision) == nil {
            throw ValidationError("--precision must be fp32 or bf16, not '\(precision)'")
        }
    }

    var value: Precision { precision.flatMap(Precision.init(rawValue:)) ?? .default }
}
