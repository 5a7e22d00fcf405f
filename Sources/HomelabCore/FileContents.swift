/// Whole small files (state, world, actions, inventory), read in one go — never through a
/// symlink, never from a FIFO, never past a size limit (`readUntrusted`): a FIFO dropped into
/// `actions/` must not block the executor or the UI.
public enum FileContents {
    /// The file's bytes, or nil if it is not a readable regular file of at most `limit` bytes.
    public static func read(_ path: String, limit: Int = 64 << 20) -> [UInt8]? {
        if case .bytes(let bytes) = readUntrusted(path, limit: limit) { return bytes }
        return nil
    }

    /// The file as a JSON object, or nil.
    public static func object(_ path: String) -> JSONObject? {
        read(path).flatMap { try? JSONParser.parse($0) }?.object
    }
}
