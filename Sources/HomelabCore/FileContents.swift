#if canImport(Glibc)
import Glibc
#endif
import FSWatch

/// Whole small files (state, world, inventory), read in one go.
public enum FileContents {
    /// The file's bytes, or nil if it cannot be read or is larger than `limit`.
    public static func read(_ path: String, limit: Int = 64 << 20) -> [UInt8]? {
        guard let file = try? FileDescriptor.open(path, O_RDONLY) else { return nil }
        return file.closeAfter { file in
            let fd = file.rawValue
            var bytes = [UInt8](repeating: 0, count: 1 << 14)
            var count = 0
            while true {
                if count == bytes.count {
                    if count > limit { return nil }
                    bytes += [UInt8](repeating: 0, count: count)
                }
                let n = try? bytes.withUnsafeMutableBytes { raw in
                    try FileDescriptor.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[count...]))
                }
                guard let n else { return nil }
                if n == 0 { break }
                count += n
            }
            guard count <= limit else { return nil }
            bytes.removeLast(bytes.count - count)
            return bytes
        }
    }

    /// The file as a JSON object, or nil.
    public static func object(_ path: String) -> JSONObject? {
        read(path).flatMap { try? JSONParser.parse($0) }?.object
    }
}
