/// A problem with the variant caller's input or output. `description` is one line that names the
/// file, e.g. `truth.vcf.gz: contig 'chrX' is not in the reference ref.fa`.
public struct VariantError: Error, CustomStringConvertible {
    public let file: String
    public let problem: String

    public init(file: String, _ problem: String) {
        self.file = file
        self.problem = problem
    }

    public var description: String { "\(file): \(problem)" }
}
