import CHTSLib
public enum SeqIOVersion {
    /// Version string of the linked htslib.
    public static var htslib: String { String(cString: hts_version()) }
}
