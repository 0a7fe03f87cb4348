import Foundation

/// What one kind of training (`ClassifierTrainer`, `MaskedLMTrainer`) gives `TrainingLoop`: the batch of a
/// step, the loss and gradients of a shard of it, validation, the best weights, and its checkpoint files.
protocol TrainingObjective: AnyObject {
    associatedtype Tape
    associatedtype Batch

    func makeTape() -> Tape
    /// The batch of optimiser step `step` from the training sequences at `indices`, with the rows of each of
    /// its sequences; `trains` false: nothing in it to learn from (no optimiser step).
    func batch(_ indices: [Int], step: Int) -> (batch: Batch, lengths: [Int], trains: Bool)
    /// Adds the gradients of the batch's sequences `sequences` into `grads`; returns their share of the loss.
    func lossAndGradients(_ batch: Batch, sequences: Range<Int>, grads: ParameterSet, tape: Tape) -> ShardLoss
    /// Whether `ShardLoss.correct` counts correct sequences (training accuracy in the progress reports).
    var reportsAccuracy: Bool { get }
    func validate(tapes: [Tape]) -> ValidationResult

    /// Remembers the current weights as the best so far; `restoreBest` puts them back.
    func keepBest() throws
    func restoreBest()

    /// A hash of the data and settings: a checkpoint resumes only a run with the same one.
    var fingerprint: String { get }
    /// Writes the current and best weights into a new checkpoint directory; `readWeights` loads them back.
    func writeWeights(to directory: URL) throws
    func readWeights(from directory: String) throws
}

/// The loss share and correct-sequence count of one gradient shard.
struct ShardLoss {
    var loss: Float = 0
    var correct = 0
}

/// FNV-1a-style hash of a sequence of integers, as hex (checkpoint fingerprints).
struct Fingerprint {
    private var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    mutating func add(_ values: Int...) {
        for x in values { hash = (hash ^ UInt64(bitPattern: Int64(x))) &* 0x100_0000_01b3 }
    }
    var text: String { String(hash, radix: 16) }
}
