#if canImport(Glibc)
import Glibc
#endif
import FSWatch

extension FileContents {
    /// What reading a file without trusting it gave.
    public enum Outcome: Sendable {
        case bytes([UInt8])
        /// Not a regular file, unreadable, or larger than the limit: why, in a few words.
        case refused(String)
        /// Larger than the limit.
        case tooLarge
        /// Not there (any more): taken by someone else, or deleted.
        case gone
    }

    /// Reads `name` (a path, or a name in the folder open as `folder`) without trusting it:
    /// never follows a symlink, never blocks on a FIFO or a device, never reads more than
    /// `limit` — the one way every service reads a file another party may have put there. A
    /// regular file costs open, read, close: its type is only asked (fstat) when the read
    /// looks odd.
    public static func readUntrusted(_ name: String, in folder: Int32 = AT_FDCWD, limit: Int) -> Outcome {
        // O_NOATIME: a dropped file is read once, and the atime update it would make was ~7% of
        // the observer's time in a backlog. Only its owner (or root) may ask for it: EPERM
        // otherwise, and then the file is opened as usual.
        let flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC
        var raw = openat(folder, name, flags | noAccessTime)
        if raw < 0 && errno == EPERM { raw = openat(folder, name, flags) }
        if raw < 0 {
            let errno = Errno.current
            switch errno.rawValue {
            case ENOENT: return .gone
            case ELOOP: return .refused("a symlink, not a regular file")
            case ENXIO: return .refused("a socket or device, not a regular file")
            default: return .refused("unreadable: \(errno)")
            }
        }
        return FileDescriptor(owning: raw).closeAfter { file in
            let fd = file.rawValue
            var bytes = [UInt8](repeating: 0, count: min(4096, limit + 1))
            var count = 0
            while true {
                if count == bytes.count {
                    if count > limit { break }
                    bytes.append(contentsOf: [UInt8](repeating: 0, count: min(limit + 1, count * 4) - count))
                }
                let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + count, $0.count - count) }
                if n < 0 {
                    let errno = Errno.current
                    if errno == .interrupted { continue }
                    return notRegular(fd) ?? .refused("unreadable: \(errno)")
                }
                if n == 0 { break }
                count += n
                // A regular file reads short only at its end: no second call just to see 0.
                if count < bytes.count { break }
            }
            if count == 0 || count > limit, let odd = notRegular(fd) { return odd }
            if count > limit { return .tooLarge }
            bytes.removeLast(bytes.count - count)
            return .bytes(bytes)
        }
    }

    /// `O_NOATIME` (Linux; the Glibc module leaves out what needs `_GNU_SOURCE`).
    private static let noAccessTime: Int32 = 0o1_000_000

    /// The refusal for a descriptor that is not a regular file; nil when it is one.
    private static func notRegular(_ fd: Int32) -> Outcome? {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .refused("unreadable: \(Errno.current)") }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFIFO: return .refused("a FIFO, not a regular file")
        case S_IFDIR: return .refused("a directory, not a file")
        default: return .refused("not a regular file")
        }
    }
}
