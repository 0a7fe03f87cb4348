import Foundation

/// One line for any error a command can meet. The project's own errors describe themselves ("PATH: problem");
/// Foundation's file and JSON errors (NSCocoaErrorDomain, NSPOSIXErrorDomain) would print as
/// "Error Domain=NSCocoaErrorDomain Code=260 … UserInfo={…}", so they become "PATH: reason", the reason taken from
/// the underlying POSIX error where there is one.
public enum ErrorText {
    public static func describe(_ error: Error) -> String {
        let ns = error as NSError
        guard ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain else { return "\(error)" }
        let path = (ns.userInfo[NSFilePathErrorKey] as? String) ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
        let text = reason(ns)
        return path.map { "\($0): \(text)" } ?? text
    }

    /// Why a Foundation error happened, in a few lower-case words.
    public static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return posix(Int32(ns.code)) }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return posix(Int32(underlying.code))
        }
        guard ns.domain == NSCocoaErrorDomain else { return "\(error)" }
        switch CocoaError.Code(rawValue: ns.code) {
        case .fileNoSuchFile, .fileReadNoSuchFile: return "no such file or directory"
        case .fileReadNoPermission, .fileWriteNoPermission: return "permission denied"
        case .fileWriteOutOfSpace: return "no space left on device"
        case .fileWriteFileExists: return "file exists"
        case .fileWriteVolumeReadOnly: return "read-only file system"
        case .fileReadTooLarge: return "file too large"
        case .fileReadInapplicableStringEncoding, .fileWriteInapplicableStringEncoding:
            return "not text in the expected encoding"
        case .fileReadCorruptFile: return "unreadable content"
        case .propertyListReadCorrupt:
            // JSONSerialization's parse errors; the debug description says where.
            let detail = (ns.userInfo[NSDebugDescriptionErrorKey] as? String).map { ": " + oneLine($0) } ?? ""
            return "not valid JSON" + detail
        default:
            if let detail = ns.userInfo[NSDebugDescriptionErrorKey] as? String { return oneLine(detail) }
            return "file operation failed (error \(ns.code))"
        }
    }

    private static func posix(_ code: Int32) -> String {
        let text = String(cString: strerror(code))
        return text.prefix(1).lowercased() + text.dropFirst()
    }

    private static func oneLine(_ s: String) -> String {
        s.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
