#if canImport(Glibc)
import Glibc
#endif
import FSWatch

public enum ProcessID {
    public static var current: Int32 { getpid() }
}

/// One instance of a service per runtime root: an exclusive `flock` held for the process's
/// life (the kernel drops it when the process dies, `kill -9` included).
public final class ServiceLock {
    private var file: FileDescriptor?

    public init(path: String, service: String, root: String) throws {
        let file = try FileDescriptor.open(path, O_RDWR | O_CREAT, mode: 0o644)
        if flock(file.rawValue, LOCK_EX | LOCK_NB) != 0 {
            let errno = Errno.current
            file.close()
            if errno == .wouldBlock { throw ServiceLockError(description: "another \(service) is already running on \(root)") }
            throw SystemError("flock", errno, subject: path)
        }
        self.file = consume file
    }

    public func release() {
        if let file = file.take() { file.close() }
    }

    deinit { release() }
}

public struct ServiceLockError: Error, CustomStringConvertible {
    public let description: String
}
