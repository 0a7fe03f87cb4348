import Foundation

/// The version of mamba-dna, as `--version` prints it and as outputs record it (VCF `##source`).
public enum ToolVersion {
    public static let current = "0.1.0"

    /// Today's date as VCF's `##fileDate` writes it (YYYYMMDD, UTC).
    public static func fileDate(_ date: Date = Date()) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d%02d%02d", c.year!, c.month!, c.day!)
    }
}
