import Foundation
import MambaModel
import MambaTrain

/// Labelled sequences for `train --task classify`: labels from FASTA/FASTQ headers (`KEY=NAME`, key `label`
/// by default) or from a two-column TSV (`read_id<TAB>label`, `#` lines skipped).
public struct LabelledInput {
    public var labels: [String]                 // class names, sorted
    public var sequences: [LabelledSequence]
    public var names: [String]
    /// Per sequence, the header value of `groupKey` when `read` was given one (else empty).
    public var groups: [String] = []


    /// Reads every input; fails when any read lacks a label, when fewer than two classes remain, when a TSV
    /// line is malformed or names a read that is not in the input, or when `allowedLabels` is given and a
    /// label is not among them. With `groupKey`, every read's header must also hold `groupKey=VALUE` (`groups`).
    public static func read(inputs: [String], labelKey: String, labelsFile: String?, allowedLabels: [String]? = nil,
                            reference: String? = nil, groupKey: String? = nil) throws -> LabelledInput {
        var rawLabels: [String] = [], tokens: [[Int32]] = [], names: [String] = []
        var groups: [String] = [], missingGroup = 0, firstMissingGroup: String?
        try forEachLabelled(inputs: inputs, labelKey: labelKey, labelsFile: labelsFile, reference: reference) { _, r, label in
            if let groupKey {
                guard let g = ReadSource.headerValue(r.comment, key: groupKey) else {
                    missingGroup += 1
                    if firstMissingGroup == nil { firstMissingGroup = r.name }
                    return
                }
                groups.append(g)
            }
            rawLabels.append(label); tokens.append(DNATokenizer.encode(r.bases)); names.append(r.name)
        }
        let inputNames = inputs.joined(separator: ", ")
        if missingGroup > 0, let groupKey {
            throw ToolError(file: inputNames, "\(missingGroup) of \(missingGroup + rawLabels.count) labelled reads have no '\(groupKey)=VALUE' "
                          + "in the header (--val-group-key \(groupKey)); first: '\(firstMissingGroup!)'")
        }
        let classes = Array(Set(rawLabels)).sorted()
        if let allowed = allowedLabels {
            let set = Set(allowed)
            if let bad = classes.first(where: { !set.contains($0) }) {
                throw ToolError("label '\(bad)' is not one of the model's classes (\(allowed.joined(separator: ", ")))")
            }
        }
        guard classes.count >= 2 else {
            throw ToolError(file: inputNames, classes.isEmpty ? "no labelled reads"
                          : "all \(rawLabels.count) reads have the same label '\(classes[0])': a classifier needs at least two classes")
        }
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($0.element, $0.offset) })
        let seqs = zip(tokens, rawLabels).map { LabelledSequence(tokens: $0.0, label: index[$0.1]!) }
        return LabelledInput(labels: classes, sequences: seqs, names: names, groups: groups)
    }

    /// Streams the labelled reads of every input to `body(path, read, label)`, in input order, without keeping
    /// them: labels from the header's `labelKey=NAME` or, with `labelsFile`, from its TSV. Empty reads are
    /// skipped. After the pass, fails when any read lacks a label (naming the first and its file) or when the TSV
    /// names a read that is not in the input; errors of `body` and of the readers pass through.
    static func forEachLabelled(inputs: [String], labelKey: String, labelsFile: String?, reference: String?,
                                _ body: (_ path: String, ReadSource.Read, _ label: String) throws -> Void) throws {
        let table = try labelsFile.map(readTable)
        var used = Set<String>()
        var labelled = 0, missing = 0, firstMissing: (read: String, path: String)?
        var empty = 0
        for path in inputs {
            try ReadSource.forEach(path, reference: reference) { r in
                let label: String?
                if let table {
                    label = table[r.name]
                    if label != nil { used.insert(r.name) }
                } else {
                    label = ReadSource.headerValue(r.comment, key: labelKey)
                }
                guard let label else {
                    missing += 1
                    if firstMissing == nil { firstMissing = (r.name, path) }
                    return
                }
                if r.bases.isEmpty { empty += 1; return }
                labelled += 1
                try body(path, r, label)
            }
        }
        let source = labelsFile.map { "in \($0)" } ?? "(no '\(labelKey)=NAME' in the header)"
        if let firstMissing {
            throw ToolError("\(missing) of \(missing + labelled + empty) reads have no label \(source); "
                          + "first: '\(firstMissing.read)' in \(firstMissing.path)")
        }
        if let table, used.count < table.count {
            let unknown = table.keys.filter { !used.contains($0) }.sorted()
            throw ToolError("\(labelsFile!): \(unknown.count) read ids are not in the input (first: '\(unknown[0])')")
        }
    }

    /// `read_id<TAB>label` per line; blank and `#` lines skipped.
    static func readTable(_ path: String) throws -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ToolError("\(path): cannot read the labels file")
        }
        var table: [String: String] = [:]
        for (i, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let l = line.hasSuffix("\r") ? line.dropLast() : line
            if l.isEmpty || l.hasPrefix("#") { continue }
            let cols = l.split(separator: "\t", omittingEmptySubsequences: false)
            guard cols.count == 2, !cols[0].isEmpty, !cols[1].trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ToolError("\(path):\(i + 1): expected 'read_id<TAB>label', got '\(l.prefix(60))'")
            }
            let id = String(cols[0]), label = cols[1].trimmingCharacters(in: .whitespaces)
            if let old = table[id], old != label {
                throw ToolError("\(path):\(i + 1): read '\(id)' has two labels ('\(old)' and '\(label)')")
            }
            table[id] = label
        }
        return table
    }

    /// A stratified hold-out: within each class, a seeded shuffle, then `fraction` of it (at least one read
    /// when the class has two or more), capped at `maxCount` in total.
    public func split(fraction: Double, maxCount: Int, seed: UInt64) -> (train: [LabelledSequence], validation: [LabelledSequence]) {
        guard fraction > 0 else { return (sequences, []) }
        var byClass = [[Int]](repeating: [], count: labels.count)
        for (i, s) in sequences.enumerated() { byClass[s.label].append(i) }
        let f = min(fraction, Double(maxCount) / Double(max(sequences.count, 1)))
        var rng = RandomSource(seed: seed ^ 0x7A11_DA7E)
        var isVal = [Bool](repeating: false, count: sequences.count)
        for var idx in byClass where idx.count >= 2 {
            rng.shuffle(&idx)
            let k = min(idx.count - 1, max(1, Int((Double(idx.count) * f).rounded())))
            for i in idx.prefix(k) { isVal[i] = true }
        }
        var train: [LabelledSequence] = [], val: [LabelledSequence] = []
        for (i, s) in sequences.enumerated() { if isVal[i] { val.append(s) } else { train.append(s) } }
        return (train, val)
    }

    /// Whole groups held out (`ValidationSplit.heldOutGroups`): every read of a held-out group validates, the
    /// others train. Needs `groups` (`read` with a `groupKey`).
    public func splitByGroup(fraction: Double, maxCount: Int, seed: UInt64)
        -> (train: [LabelledSequence], validation: [LabelledSequence], heldOut: [String]) {
        precondition(groups.count == sequences.count)
        let held = ValidationSplit.heldOutGroups(labels: sequences.map(\.label), groups: groups, fraction: fraction,
                                                 maxCount: maxCount, seed: seed)
        var train: [LabelledSequence] = [], val: [LabelledSequence] = []
        for (s, g) in zip(sequences, groups) { if held.contains(g) { val.append(s) } else { train.append(s) } }
        return (train, val, held.sorted())
    }
}
