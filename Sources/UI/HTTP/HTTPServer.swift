#if canImport(Glibc)
import Glibc
#endif
import FSWatch

/// An HTTP/1.1 server on the reactor: one listening socket, connections with keep-alive and
/// pipelining (answers in request order), one deadline for a whole header block so a slow
/// client cannot hold a connection, an idle timeout between requests, a send timeout for a
/// peer that stops reading, and a cap on connections. Handlers run on the loop and answer at
/// once, or take the connection over for a stream (`Connection.stream`).
public final class HTTPServer {
    public struct Settings: Sendable {
        public var limits = HTTPParser.Limits()
        public var headerDeadline: Duration = .seconds(10)
        public var idleTimeout: Duration = .seconds(75)
        public var maxConnections = 10_000
        /// A connection whose queued output makes no progress for this long is reset (nginx's
        /// `send_timeout`): what ends a client that never reads, whatever it is sent.
        public var sendTimeout: Duration = .seconds(60)
        /// A connection with this much output queued is not read until it drains below it.
        public var readPauseBytes = 256 << 10
        public init() {}
    }

    public typealias Handler = (HTTPRequest, Connection) -> HTTPResponse?

    unowned let reactor: Reactor
    let settings: Settings
    let parser: HTTPParser
    let handler: Handler
    private var listener: Reactor.Token?
    private var connections: [ObjectIdentifier: Connection] = [:]
    public private(set) var port: UInt16 = 0
    public var connectionCount: Int { connections.count }
    /// The most output ever queued for one connection (`/metrics`): what back-pressure holds to.
    public internal(set) var maxQueuedBytes = 0

    /// Listens on `address` (`HOST:PORT`; port 0 picks a free one, see `port`).
    public init(reactor: Reactor, address: String, settings: Settings = Settings(), handler: @escaping Handler) throws {
        self.reactor = reactor
        self.settings = settings
        self.parser = HTTPParser(limits: settings.limits)
        self.handler = handler
        let (fd, port) = try Socket.listen(address)
        self.port = port
        listener = try reactor.register(FileDescriptor(owning: fd), label: "listen \(address)", interest: .readable) { [unowned self] _ in
            acceptAll()
        }
    }

    /// Stops accepting and closes every connection.
    public func close() {
        if let listener { reactor.close(listener) }
        listener = nil
        for connection in connections.values { connection.close() }
        connections.removeAll()
    }

    private func acceptAll() {
        guard let listener, let fd = reactor.descriptor(listener) else { return }
        while true {
            guard let (client, peer) = Socket.accept(fd) else { return }
            if connections.count >= settings.maxConnections {
                Glibc.close(client)
                continue
            }
            do {
                let connection = try Connection(fd: client, peer: peer, server: self)
                connections[ObjectIdentifier(connection)] = connection
            } catch {
                continue
            }
        }
    }

    func closed(_ connection: Connection) {
        connections[ObjectIdentifier(connection)] = nil
    }
}
