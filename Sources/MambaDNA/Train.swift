import ArgumentParser

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model (masked-LM pretraining or classification) on your own data.")

    func run() throws { notYetBuilt("train") }
}
