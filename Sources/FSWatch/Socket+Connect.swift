#if canImport(Glibc)
import Glibc
#endif

/// A host name that did not resolve: what `getaddrinfo` said, naming the host.
public struct ResolveError: Error, Sendable, CustomStringConvertible {
    public let host: String
    public let reason: String
    public var description: String { "cannot resolve \(host): \(reason)" }
}

extension Socket {
    /// Starts a non-blocking, close-on-exec TCP connection to `host:port`; the socket turns
    /// writable once it is established or has failed (`pendingError` says which). A name is
    /// resolved by `getaddrinfo`, which may block on DNS — once per connection, and an IP
    /// address or an /etc/hosts name does not. The corresponding C functions are
    /// `getaddrinfo`, `socket` and `connect`.
    public static func connect(host: String, port: UInt16) throws -> FileDescriptor {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &found)
        guard status == 0, let first = found else {
            throw ResolveError(host: host, reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(found) }
        let type = Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue)
        let socket = FileDescriptor(owning: try systemCall("socket") { Glibc.socket(first.pointee.ai_family, type, 0) })
        if Glibc.connect(socket.rawValue, first.pointee.ai_addr, first.pointee.ai_addrlen) != 0 {
            let errno = Errno.current
            if errno.rawValue != EINPROGRESS && errno != .interrupted {
                socket.close()
                throw SystemError("connect", errno, subject: "\(host):\(port)")
            }
        }
        return socket
    }

    /// Why a connection started by `connect` failed, or nil once it is established.
    /// The corresponding C function is `getsockopt` with `SO_ERROR`.
    public static func pendingError(_ fd: Int32) -> Errno? {
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 else { return Errno.current }
        return error == 0 ? nil : Errno(rawValue: error)
    }
}
