#if canImport(Glibc)
import Glibc
#endif
import CLinuxShim

/// An error number as the kernel reported it, printable with its symbolic name.
public struct Errno: RawRepresentable, Error, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's `errno`; read it on the line right after the call.
    public static var current: Errno { Errno(rawValue: CLinuxShim_errno()) }

    public static let interrupted = Errno(rawValue: EINTR)
    public static let wouldBlock = Errno(rawValue: EAGAIN)
    public static let noSuchFile = Errno(rawValue: ENOENT)
    public static let fileExists = Errno(rawValue: EEXIST)
    public static let badDescriptor = Errno(rawValue: EBADF)
    public static let badAddress = Errno(rawValue: EFAULT)
    public static let invalidArgument = Errno(rawValue: EINVAL)
    public static let notDirectory = Errno(rawValue: ENOTDIR)
    public static let noSuchProcess = Errno(rawValue: ESRCH)
    public static let noChild = Errno(rawValue: ECHILD)
    public static let permissionDenied = Errno(rawValue: EACCES)

    private static let names: [Int32: String] = [
        EPERM: "EPERM", ENOENT: "ENOENT", ESRCH: "ESRCH", EINTR: "EINTR", EIO: "EIO",
        EBADF: "EBADF", ECHILD: "ECHILD", EAGAIN: "EAGAIN", ENOMEM: "ENOMEM", EACCES: "EACCES",
        EFAULT: "EFAULT", EBUSY: "EBUSY", EEXIST: "EEXIST", EXDEV: "EXDEV", ENOTDIR: "ENOTDIR",
        EISDIR: "EISDIR", EINVAL: "EINVAL", ENFILE: "ENFILE", EMFILE: "EMFILE", ENOSPC: "ENOSPC",
        EROFS: "EROFS", EPIPE: "EPIPE", ENAMETOOLONG: "ENAMETOOLONG", ENOTEMPTY: "ENOTEMPTY",
        ELOOP: "ELOOP", EADDRINUSE: "EADDRINUSE", ECONNRESET: "ECONNRESET", ETIMEDOUT: "ETIMEDOUT",
        ECONNREFUSED: "ECONNREFUSED", ENOSYS: "ENOSYS", EOVERFLOW: "EOVERFLOW",
    ]

    /// The symbolic name, such as `ENOENT`.
    public var name: String { Errno.names[rawValue] ?? "errno \(rawValue)" }

    public var description: String { "\(String(cString: strerror(rawValue))) (\(name))" }
}
