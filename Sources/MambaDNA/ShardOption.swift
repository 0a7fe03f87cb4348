import ArgumentParser
import DNATasks

/// `--shard I/N`: one part of a run, for a cluster; `merge` joins the parts' outputs.
struct ShardOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Only part I of N (1-based) of the input; writes OUTPUT.shard.json for `merge`. Needs -o FILE.", valueName: "I/N"))
    var shard: String?

    /// The parsed part, or nil; exits with a usage error for text that is not I/N with 1 ≤ I ≤ N.
    var value: Shard? {
        guard let shard else { return nil }
        do { return try Shard(parsing: shard) } catch { fail(error, code: 2) }
    }
}
