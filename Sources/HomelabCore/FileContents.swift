#if canImport(Glibc)
import Glibc
#endif
import FSWatch

/// Whole small files (state, world, inventory), read in one go.
public enum FileContents {
    /// The file's bytes, or nil if it cannot be read or is larger than `limit`.
    public static func read(_ path: String, limit: Int = 64 << 20) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 1 << 14)
        var count = 0
        while true {
            if count == bytes.count {
                if count > limit { return nil }
                bytes += [UInt8](repeating: 0, count: count)
            }
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + count, $0.count - count) }
            if n < 0 {
                if Errno.current == .interrupted { continue }
                return nil
            }
            if n == 0 { break }
            count += n
        }
        guard count <= limit else { return nil }
        bytes.removeLast(bytes.count - count)
        return bytes
    }

    /// The file as a JSON object, or nil.
    public static func object(_ path: String) -> JSONObject? {
        read(path).flatMap { try? JSONParser.parse($0) }?.object
    }
}
