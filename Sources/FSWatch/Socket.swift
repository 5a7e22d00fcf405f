#if canImport(Glibc)
import Glibc
#endif
import CLinuxShim

/// An address refused before any socket call: the text is wrong, the kernel never saw it.
public struct AddressError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable {
        case notHostAndPort
        /// The host is not a dotted IPv4 address (names are not resolved).
        case notIPv4
    }

    public let code: Code
    public let address: String

    public init(_ code: Code, _ address: String) {
        self.code = code
        self.address = address
    }

    public var description: String {
        switch code {
        case .notHostAndPort: "\(address): not HOST:PORT"
        case .notIPv4: "\(address): the host is not an IPv4 address"
        }
    }
}

/// The socket calls the server needs, wrapped once.
public enum Socket {
    /// A non-blocking listening TCP socket on `HOST:PORT`; returns it and the port it got.
    public static func listen(_ address: String) throws -> (Int32, UInt16) {
        guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...]) else {
            throw AddressError(.notHostAndPort, address)
        }
        var host = String(address[..<colon])
        if host.isEmpty || host == "*" { host = "0.0.0.0" }
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &socketAddress.sin_addr) == 1 else {
            throw AddressError(.notIPv4, address)
        }
        let fd = try systemCall("socket") { socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0) }
        let owner = FileDescriptor(owning: fd)
        var bound = sockaddr_in()
        do {
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            try withUnsafePointer(to: &socketAddress) { pointer in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                    _ = try systemCall("bind", address) { bind(fd, raw, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
            }
            try systemCall("listen", address) { Glibc.listen(fd, 4096) }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &bound) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
        } catch {
            owner.close()
            throw error
        }
        return (owner.release(), UInt16(bigEndian: bound.sin_port))
    }

    /// What `accept` found.
    public enum Accepted {
        case connection(fd: Int32, peer: sockaddr_in)
        /// None waiting (or it vanished before we took it).
        case none
        /// Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM): the connection stays
        /// queued, and the listener stays readable, so asking again at once would spin.
        case exhausted(Errno)
    }

    /// The next pending connection, non-blocking and close-on-exec, with its peer's address
    /// (no separate `getpeername`). The corresponding C function is `accept4`.
    public static func accept(_ listener: Int32) -> Accepted {
        var peer = sockaddr_in()
        while true {
            let fd = CLinuxShim_accept(listener, &peer)
            if fd >= 0 { return .connection(fd: fd, peer: peer) }
            let error = Errno.current
            switch error.rawValue {
            case EINTR, ECONNABORTED: continue
            case EMFILE, ENFILE, ENOBUFS, ENOMEM: return .exhausted(error)
            default: return .none
            }
        }
    }

    /// `IP:PORT` of a peer address.
    public static func describe(_ address: sockaddr_in) -> String {
        var address = address
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        inet_ntop(AF_INET, &address.sin_addr, &text, socklen_t(INET_ADDRSTRLEN))
        let host = String(cBuffer: text)
        return host + ":" + String(UInt16(bigEndian: address.sin_port))
    }
}
