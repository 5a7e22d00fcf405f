#if canImport(Glibc)
import Glibc
#endif
import FSWatch

/// Reads one dropped file without trusting it: never follows a symlink, never blocks on a
/// FIFO, never reads more than the size limit allows.
enum InboxReader {
    enum Outcome {
        case bytes([UInt8])
        case rejected(Rejection)
        /// Already gone: taken by an earlier batch (watch events can repeat) or deleted.
        case gone
    }

    static func read(_ path: String, maxBytes: Int = EventValidation.maxBytes) -> Outcome {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
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
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .rejected(Rejection("unreadable: \(Errno.current)")) }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFIFO: return .rejected(Rejection("a FIFO, not a regular file"))
        case S_IFDIR: return .rejected(Rejection("a directory, not a file"))
        default: return .rejected(Rejection("not a regular file"))
        }
        if Int(info.st_size) > maxBytes { return .rejected(Rejection("over 1 MiB (\(info.st_size) bytes)")) }
        // Read to the end, allowing one byte past the limit to notice a file that grew.
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size) + 1)
        var count = 0
        while true {
            if count == bytes.count {
                if count > maxBytes { return .rejected(Rejection("over 1 MiB (grew while being read)")) }
                bytes.append(contentsOf: [UInt8](repeating: 0, count: min(maxBytes + 1, count * 2) - count))
            }
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + count, $0.count - count) }
            if n < 0 {
                if Errno.current == .interrupted { continue }
                return .rejected(Rejection("unreadable: \(Errno.current)"))
            }
            if n == 0 { break }
            count += n
            // A regular file reads short only at its end: no second call just to see 0.
            if count < bytes.count { break }
        }
        if count > maxBytes { return .rejected(Rejection("over 1 MiB (\(count) bytes)")) }
        bytes.removeLast(bytes.count - count)
        return .bytes(bytes)
    }
}
