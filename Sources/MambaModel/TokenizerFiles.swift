import Foundation

/// The character tokenizer's files in a model directory (Caduceus / HyenaDNA ids, `DNATokenizer`):
/// `tokenizer_config.json` and `vocab.json`.
public enum TokenizerFiles {
    /// Writes both files into `directory` (which must exist); throws `ModelError.ioError` naming the file.
    public static func write(to directory: String) throws {
        let dir = URL(fileURLWithPath: directory)
        try ClassifierDirectory.writeJSON(
            ["tokenizer_class": "CharacterTokenizer", "characters": ["A", "C", "G", "T", "N"],
             "model_max_length": 1_000_000, "padding_side": "left", "add_special_tokens": false,
             "unk_token": "[UNK]", "pad_token": "[PAD]", "mask_token": "[MASK]",
             "cls_token": "[CLS]", "sep_token": "[SEP]", "bos_token": "[BOS]"] as [String: Any],
            to: dir.appendingPathComponent("tokenizer_config.json").path)
        try ClassifierDirectory.writeJSON(
            Dictionary(uniqueKeysWithValues: DNATokenizer.symbols.enumerated().map { ($0.element, $0.offset) }),
            to: dir.appendingPathComponent("vocab.json").path)
    }
}
