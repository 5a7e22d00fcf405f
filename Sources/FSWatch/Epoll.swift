import CLinuxShim

/// What a registered descriptor is waited on for.
public struct Interest: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let readable = Interest(rawValue: UInt32(EPOLLIN.rawValue) | UInt32(EPOLLRDHUP.rawValue))
    public static let writable = Interest(rawValue: UInt32(EPOLLOUT.rawValue))
}

/// What a descriptor turned out to be ready for.
public struct Readiness: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let readable = Readiness(rawValue: UInt32(EPOLLIN.rawValue))
    public static let writable = Readiness(rawValue: UInt32(EPOLLOUT.rawValue))
    /// The peer closed its end (EPOLLHUP or EPOLLRDHUP).
    public static let hangup = Readiness(rawValue: UInt32(EPOLLHUP.rawValue) | UInt32(EPOLLRDHUP.rawValue))
    public static let error = Readiness(rawValue: UInt32(EPOLLERR.rawValue))
}

/// Thin wrappers, one per epoll call.
enum Epoll {
    /// The corresponding C function is `epoll_create1`.
    static func create() throws(SystemError) -> FileDescriptor {
        FileDescriptor(owning: try systemCall("epoll_create1") { CLinuxShim_epoll_create() })
    }

    /// The corresponding C function is `epoll_ctl` with `EPOLL_CTL_ADD`.
    static func add(_ epoll: Int32, _ fd: Int32, _ interest: Interest, token: UInt64) throws(SystemError) {
        try systemCall("epoll_ctl(ADD)", "fd \(fd)") {
            CLinuxShim_epoll_ctl(epoll, EPOLL_CTL_ADD, fd, interest.rawValue, token)
        }
    }

    /// The corresponding C function is `epoll_ctl` with `EPOLL_CTL_MOD`.
    static func modify(_ epoll: Int32, _ fd: Int32, _ interest: Interest, token: UInt64) throws(SystemError) {
        try systemCall("epoll_ctl(MOD)", "fd \(fd)") {
            CLinuxShim_epoll_ctl(epoll, EPOLL_CTL_MOD, fd, interest.rawValue, token)
        }
    }

    /// The corresponding C function is `epoll_ctl` with `EPOLL_CTL_DEL`.
    static func remove(_ epoll: Int32, _ fd: Int32) throws(SystemError) {
        try systemCall("epoll_ctl(DEL)", "fd \(fd)") { CLinuxShim_epoll_ctl(epoll, EPOLL_CTL_DEL, fd, 0, 0) }
    }

    /// Waits for readiness; an interrupted wait returns no events rather than retrying, so
    /// the caller recomputes its timeout. The corresponding C function is `epoll_wait`.
    static func wait(
        _ epoll: Int32, tokens: UnsafeMutablePointer<UInt64>, flags: UnsafeMutablePointer<UInt32>,
        max: Int32, timeoutMilliseconds: Int32
    ) throws(SystemError) -> Int {
        let n = CLinuxShim_epoll_wait(epoll, tokens, flags, max, timeoutMilliseconds)
        if n >= 0 { return Int(n) }
        let errno = Errno.current
        if errno == .interrupted { return 0 }
        throw SystemError("epoll_wait", errno)
    }
}
