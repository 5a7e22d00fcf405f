#if canImport(Glibc)
import Glibc
#endif
import FSWatch

/// Reads one dropped file without trusting it: never follows a symlink, never blocks on a
/// FIFO, never reads more than the size limit allows.
public enum InboxReader {
    public enum Outcome {
        case bytes([UInt8])
        case rejected(Rejection)
        /// Already gone: taken by an earlier batch (watch events can repeat) or deleted.
        case gone
    }

    /// Reads `name` (a path, or a name in the folder open as `folder`). A regular file costs
    /// open, read, close: its type is only asked (fstat) when the read looks odd.
    public static func read(_ name: String, in folder: Int32 = AT_FDCWD, maxBytes: Int = EventValidation.maxBytes) -> Outcome {
        let fd = openat(folder, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        if fd < 0 {
            let errno = Errno.current
            switch errno.rawValue {
            case ENOENT: return .gone
            case ELOOP: return .rejected(Rejection("a symlink, not a regular file"))
            case ENXIO: return .rejected(Rejection("a socket or device, not a regular file"))
            default: return .rejected(Rejection("unreadable: \(errno)"))
            }
        }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 4096)
        var count = 0
        while true {
            if count == bytes.count {
                if count > maxBytes { break }
                bytes.append(contentsOf: [UInt8](repeating: 0, count: min(maxBytes + 1, count * 4) - count))
            }
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + count, $0.count - count) }
            if n < 0 {
                let errno = Errno.current
                if errno == .interrupted { continue }
                return notRegular(fd) ?? .rejected(Rejection("unreadable: \(errno)"))
            }
            if n == 0 { break }
            count += n
            // A regular file reads short only at its end: no second call just to see 0.
            if count < bytes.count { break }
        }
        if count == 0 || count > maxBytes, let odd = notRegular(fd) { return odd }
        if count > maxBytes { return .rejected(Rejection("over 1 MiB (more than \(maxBytes) bytes)")) }
        bytes.removeLast(bytes.count - count)
        return .bytes(bytes)
    }

    /// The refusal for a descriptor that is not a regular file; nil when it is one.
    private static func notRegular(_ fd: Int32) -> Outcome? {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .rejected(Rejection("unreadable: \(Errno.current)")) }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFIFO: return .rejected(Rejection("a FIFO, not a regular file"))
        case S_IFDIR: return .rejected(Rejection("a directory, not a file"))
        default: return .rejected(Rejection("not a regular file"))
        }
    }
}
