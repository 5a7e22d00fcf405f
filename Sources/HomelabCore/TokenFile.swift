/// A file that holds one token (the operator's, an agent's): its text without whitespace
/// (a trailing newline, or one added by an editor), nil when missing, unreadable or empty.
public enum TokenFile {
    public static func read(_ path: String) -> String? {
        guard let bytes = FileContents.read(path, limit: 4096) else { return nil }
        let token = String(decoding: bytes, as: UTF8.self).filter { !$0.isWhitespace }
        return token.isEmpty ? nil : token
    }
}
