#if canImport(Glibc)
import Glibc
#endif
import FSWatch

/// An HTTP/1.1 server on the reactor: one listening socket, connections with keep-alive and
/// pipelining (answers in request order), one deadline for a whole header block so a slow
/// client cannot hold a connection, an idle timeout between requests, a send timeout for a
/// peer that stops reading, and caps on connections (in all, below the open-file limit, and per
/// peer address). Handlers run on the loop and answer at once, or take the connection over for
/// a stream (`Connection.stream`).
public final class HTTPServer {
    public struct Settings: Sendable {
        public var limits = HTTPParser.Limits()
        public var headerDeadline: Duration = .seconds(10)
        public var idleTimeout: Duration = .seconds(75)
        /// At most this many connections, and never more than the open-file limit less
        /// `fileReserve`; at the cap the oldest idle connection makes room for a new one.
        public var maxConnections = 10_000
        /// Descriptors kept for everything but connections: files read per request, watches,
        /// the log. Connections never take these, so a flood of clients cannot starve a read.
        public var fileReserve = 64
        /// Connections one peer address may hold; more are refused, so one host cannot take
        /// every slot.
        public var maxConnectionsPerPeer = 256
        /// After running out of descriptors, accepting resumes after this (or at once when a
        /// connection closes).
        public var acceptRetry: Duration = .milliseconds(100)
        /// A connection whose queued output makes no progress for this long is reset (nginx's
        /// `send_timeout`): what ends a client that never reads, whatever it is sent.
        public var sendTimeout: Duration = .seconds(60)
        /// A connection with this much output queued is not read until it drains below it.
        public var readPauseBytes = 256 << 10
        /// Sent with every answer: the page and its two files are served from here with no
        /// inline script or style, so the strictest policy fits; no framing (clickjacking on
        /// Approve), no sniffing, no referrer leaving the page.
        public var headers: [(name: String, value: String)] = [
            ("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "no-referrer"),
        ]
        public init() {}
    }

    public typealias Handler = (HTTPRequest, Connection) -> HTTPResponse?

    unowned let reactor: Reactor
    let settings: Settings
    let parser: HTTPParser
    let handler: Handler
    private var listener: Reactor.Token?
    private var connections: [ObjectIdentifier: Connection] = [:]
    private var perPeer: [UInt32: Int] = [:]
    /// The connection cap in force: the setting, or less under a low open-file limit.
    public let connectionLimit: Int
    private var acceptPaused = false
    var commonSecond: time_t = -1
    var common: [UInt8] = []
    private var acceptTimer: LoopTimer?
    /// Where the server says what it refused or ran out of (the UI's logger, at warning).
    public var warn: (String) -> Void = { _ in }
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
        connectionLimit = max(1, min(settings.maxConnections, HTTPServer.raiseFileLimit(to: settings.maxConnections + settings.fileReserve) - settings.fileReserve))
        let (fd, port) = try Socket.listen(address)
        self.port = port
        listener = try reactor.register(FileDescriptor(owning: fd), label: "listen \(address)", interest: .readable) { [unowned self] _ in
            acceptAll()
        }
    }

    /// Raises the soft open-file limit toward `wanted` (as far as the hard limit allows, as Go's
    /// runtime does at start) and returns the limit in force.
    private static func raiseFileLimit(to wanted: Int) -> Int {
        let infinity = rlim_t.max  // RLIM_INFINITY, which Swift imports as -1
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur != infinity && limit.rlim_cur < rlim_t(wanted) {
            var raised = limit
            raised.rlim_cur = limit.rlim_max == infinity ? rlim_t(wanted) : min(limit.rlim_max, rlim_t(wanted))
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur == infinity ? Int.max / 2 : Int(limit.rlim_cur)
    }

    /// Stops accepting and closes every connection.
    public func close() {
        if let listener { reactor.close(listener) }
        listener = nil
        acceptTimer?.cancel()
        for connection in connections.values { connection.close() }
        connections.removeAll()
    }

    private func acceptAll() {
        guard let listener, let fd = reactor.descriptor(listener) else { return }
        while true {
            switch Socket.accept(fd) {
            case .none:
                return
            case .exhausted(let errno):
                // The pending connection stays queued and the listener readable: asking again
                // at once would spin. Wait for a close or a short timer.
                pauseAccepting()
                note("out of descriptors (\(errno.name)) with \(connections.count) connections: accepting again in \(settings.acceptRetry) or at the next close")
                return
            case .connection(let client, let peer):
                let address = peer.sin_addr.s_addr
                if perPeer[address, default: 0] >= settings.maxConnectionsPerPeer {
                    Glibc.close(client)
                    note("refused a connection from \(Socket.describe(peer)): it already holds \(settings.maxConnectionsPerPeer)")
                    continue
                }
                if connections.count >= connectionLimit && !evictOldestIdle() {
                    Glibc.close(client)
                    continue
                }
                do {
                    let connection = try Connection(fd: client, peer: peer, server: self)
                    connections[ObjectIdentifier(connection)] = connection
                    perPeer[address, default: 0] += 1
                } catch {
                    continue
                }
            }
        }
    }

    /// At the cap a new client is served rather than refused: the connection idle the longest
    /// (between requests, or never sent one) is closed for it, as a browser expects of any
    /// keep-alive connection; failing that, the one longest in a request's header block (a
    /// slow sender, which would get its 408 anyway). Streams and answers being written stay.
    private func evictOldestIdle() -> Bool {
        var oldest: Connection?
        for connection in connections.values where connection.isWaiting {
            guard let current = oldest else {
                oldest = connection
                continue
            }
            let better = connection.isIdle != current.isIdle ? connection.isIdle : connection.idleSince < current.idleSince
            if better { oldest = connection }
        }
        oldest?.close()
        return oldest != nil
    }

    private func pauseAccepting() {
        guard !acceptPaused, let listener else { return }
        acceptPaused = true
        try? reactor.setInterest([], for: listener)
        if acceptTimer == nil { acceptTimer = reactor.timer { [unowned self] in resumeAccepting() } }
        acceptTimer?.schedule(after: settings.acceptRetry)
    }

    private func resumeAccepting() {
        guard acceptPaused, let listener else { return }
        acceptPaused = false
        acceptTimer?.cancel()
        try? reactor.setInterest(.readable, for: listener)
    }

    private var lastNote: MonotonicTime?
    private var notesSuppressed = 0

    /// A warning at most once a second: a flood of refusals must not become a flood of log lines.
    private func note(_ message: String) {
        let now = MonotonicTime.now()
        if let last = lastNote, now - last < .seconds(1) {
            notesSuppressed += 1
            return
        }
        warn(notesSuppressed > 0 ? "\(message) (and \(notesSuppressed) more like it)" : message)
        lastNote = now
        notesSuppressed = 0
    }

    func closed(_ connection: Connection) {
        guard connections.removeValue(forKey: ObjectIdentifier(connection)) != nil else { return }
        let address = connection.peerAddress
        if let count = perPeer[address], count > 1 { perPeer[address] = count - 1 } else { perPeer[address] = nil }
        resumeAccepting()  // a descriptor was freed
    }
}
