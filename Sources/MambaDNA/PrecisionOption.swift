import ArgumentParser
import MambaModel

/// `--precision fp32|bf16` for the commands that run an encoder.
struct PrecisionOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Arithmetic of the encoder's matrix products: fp32, or bf16 (bf16 inputs, fp32 sums; on a CPU without bf16 instructions it runs fp32 and says so). `info MODEL` shows what bf16 runs as here.",
        valueName: "fp32|bf16"))
    var precision: String = Precision.default.rawValue

    func validate() throws {
        guard Precision(rawValue: precision) != nil else {
            throw ValidationError("--precision must be fp32 or bf16, not '\(precision)'")
        }
    }

    var value: Precision { Precision(rawValue: precision) ?? .fp32 }
}
