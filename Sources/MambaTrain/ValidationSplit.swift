import MambaModel

/// Validation sets that measure what the model will be used for: whole groups held out (e.g. every read of
/// a genus, so validation asks about unseen genera, not unseen reads of seen ones), and reads longer than the
/// training window validated on fixed windows of that length (the model is trained on windows, not whole reads).
public enum ValidationSplit {
    /// The groups to hold out: about `fraction` of the sequences (at most `maxCount`), in whole groups.
    /// Each group belongs to its most frequent label; within each label, its groups (sorted by name, then a
    /// shuffle seeded by `seed`) are taken while taking one brings the held-out count closer to `fraction` of
    /// that label's sequences. One group of every label always stays in training.
    public static func heldOutGroups(labels: [Int], groups: [String], fraction: Double, maxCount: Int,
                                     seed: UInt64) -> Set<String> {
        precondition(labels.count == groups.count)
        guard fraction > 0, !labels.isEmpty, maxCount > 0 else { return [] }
        let f = min(fraction, Double(maxCount) / Double(labels.count))
        var size: [String: Int] = [:], labelCounts: [String: [Int: Int]] = [:]
        for (l, g) in zip(labels, groups) { size[g, default: 0] += 1; labelCounts[g, default: [:]][l, default: 0] += 1 }
        var byLabel: [Int: [String]] = [:]
        for g in size.keys.sorted() {
            let owner = labelCounts[g]!.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }!.key
            byLabel[owner, default: []].append(g)
        }
        var rng = RandomSource(seed: seed ^ 0x6209_5EED_0F60_0B5A)
        var held = Set<String>()
        for label in byLabel.keys.sorted() {
            var names = byLabel[label]!
            rng.shuffle(&names)
            let total = names.reduce(0) { $0 + size[$1]! }
            let target = f * Double(total)
            var taken = 0, count = 0
            for g in names where taken + 1 < names.count {
                let n = size[g]!
                // Take it when the held-out count ends nearer the target with it than without it.
                if Double(2 * count + n) < 2 * target { held.insert(g); taken += 1; count += n }
            }
        }
        return held
    }

    /// Validation items for `sequences`: one of `length` or shorter stays whole; a longer one becomes up to
    /// `perSequence` windows of `length` at evenly spaced starts (first and last at the ends; one window: the
    /// middle). At most `maxCount` items: fewer windows per sequence first, then an evenly spaced subset.
    public static func windows(_ sequences: [LabelledSequence], length: Int, perSequence: Int = 5,
                               maxCount: Int) -> [LabelledSequence] {
        precondition(length >= 1 && perSequence >= 1)
        guard !sequences.isEmpty, maxCount > 0 else { return [] }
        let long = sequences.lazy.filter { $0.tokens.count > length }.count
        let k = max(1, min(perSequence, (maxCount - (sequences.count - long)) / max(long, 1)))
        var out: [LabelledSequence] = []
        for s in sequences {
            let L = s.tokens.count
            guard L > length else { out.append(s); continue }
            let span = L - length
            var last = -1
            for j in 0..<k {
                let start = k == 1 ? span / 2 : j * span / (k - 1)
                if start == last { continue }
                last = start
                out.append(LabelledSequence(tokens: Array(s.tokens[start..<(start + length)]), label: s.label))
            }
        }
        guard out.count > maxCount else { return out }
        return (0..<maxCount).map { out[$0 * out.count / maxCount] }
    }
}
