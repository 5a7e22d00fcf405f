import FSWatch
import HomelabCore

/// `/stream`: Server-Sent Events. `event` messages carry `id: SEQ` and are replayed from the
/// log after `Last-Event-ID` (or `?lastEventId=`); the other types (`summary`, `drift`,
/// `world`, `action`, `output`) say what changed, coalesced per type into one message per
/// loop turn.
///
/// Back-pressure, per client: new events are encoded once and queued only for clients that
/// are caught up and have less than `lowWater` queued. Any other client is behind: nothing
/// more is queued for it until its connection drains, and then it is refilled from the log
/// file through its own cursor a page at a time until it is caught up (replay on connect is
/// the same path). So what the server holds for a client stays near `lowWater` plus a page
/// however slowly it reads, and nothing is ever dropped for a client that reads at all; a
/// client that stops reading is ended by the server's send timeout.
final class EventStream {
    enum Kind: Hashable { case world, action, drift, summary, output }

    /// A client gets more only while less than this is queued for it.
    static let lowWater = 256 << 10
    /// How much of the log one step reads (a longer line is read whole).
    static let pageBytes = 64 << 10
    /// Pages of the log read for all behind clients together in one loop turn, and for one of
    /// them before the next one's turn: what bounds the loop's time away from other connections.
    static let pagesPerTurn = 1
    static let pagesPerSlice = 1

    unowned let ui: UIService
    private(set) var clients: [ObjectIdentifier: SSEClient] = [:]
    private var pending: Set<Kind> = []
    private var changedPaths: [Kind: Set<String>] = [:]
    private var logGrown = false
    private var flushScheduled = false
    /// The end of the log as the live path has read it.
    private var live: EventLogCursor
    private var maxQueuedByClosed = 0
    /// Behind clients waiting for their next refill, in turn.
    var refillQueue: [SSEClient] = []
    var refillTurnScheduled = false

    var clientCount: Int { clients.count }

    /// The most bytes ever queued for one client (`/metrics`): what back-pressure holds to.
    var maxQueuedBytes: Int {
        clients.values.reduce(maxQueuedByClosed) { max($0, $1.connection.maxPendingBytes) }
    }

    init(ui: UIService) {
        self.ui = ui
        live = EventLogCursor(atEndOf: ui.root.events)
    }

    /// The stream's status and headers: what `GET` starts with and all that `HEAD` gets.
    static var head: HTTPResponse {
        var response = HTTPResponse(status: 200, headers: [
            ("Content-Type", "text/event-stream"), ("Cache-Control", "no-store"), ("X-Accel-Buffering", "no"),
        ])
        response.lengthUnknown = true
        return response
    }

    func open(_ request: HTTPRequest, _ connection: HTTPServer.Connection) -> HTTPResponse? {
        connection.stream(headers: Self.head)
        connection.send(Array(": connected\nretry: 1000\n\n".utf8))  // flushes the headers at once
        connection.drainThreshold = Self.lowWater
        let client = SSEClient(connection: connection, sentSeq: live.seq)
        let key = ObjectIdentifier(connection)
        clients[key] = client
        connection.onClose = { [weak self, unowned connection] in
            guard let self else { return }
            clients[key] = nil
            maxQueuedByClosed = max(maxQueuedByClosed, connection.maxPendingBytes)
            if connection.timedOutSending {
                ui.logger.warning("an SSE client at \(connection.remoteAddress) read nothing for \(ui.settings.http.sendTimeout): disconnected")
            }
        }
        connection.onDrained = { [weak self, weak client] in
            if let self, let client { refill(client) }
        }
        if let last = lastEventID(request) {
            let end = max(live.seq, EventLogCursor(atEndOf: ui.root.events).seq)
            if last <= end {
                // Replay what was missed through the refill path, then go live.
                client.fallBehind(to: EventLogCursor(folder: ui.root.events, after: last), missing: [.summary])
                refill(client)
                return nil
            }
            // An id this log never issued (a tab left open across a fresh root): live from now.
            ui.logger.debug("an SSE client at \(connection.remoteAddress) asked for events after \(last), past the log's end \(end): live from now")
        }
        connection.send(message("summary", data: ui.summary()))
        return nil
    }

    /// `Last-Event-ID` or `?lastEventId=`; a value that is not a seq (negative, or past
    /// Int.max) counts as none.
    private func lastEventID(_ request: HTTPRequest) -> Int? {
        guard let text = request.header("last-event-id") ?? request.query["lastEventId"], let last = Int(text), last >= 0 else { return nil }
        return last
    }

    func logGrew() {
        logGrown = true
        scheduleFlush()
    }

    func changed(_ kind: Kind, paths: [String]) {
        pending.insert(kind)
        changedPaths[kind, default: []].formUnion(paths)
        scheduleFlush()
    }

    /// To idle clients only: one with output queued is not idle.
    func keepAlive() {
        for client in clients.values where client.connection.pendingBytes == 0 {
            client.connection.send(Array(": keep-alive\n\n".utf8))
        }
    }

    private func scheduleFlush() {
        guard !flushScheduled, let reactor = ui.reactor else { return }
        flushScheduled = true
        reactor.runSoon { [weak self] in self?.flush() }
    }

    /// New events to the clients that take them, then one message per changed type.
    private func flush() {
        flushScheduled = false
        let grew = logGrown
        if grew {
            logGrown = false
            sendLiveEvents()
        }
        guard grew || !pending.isEmpty else { return }
        let kinds = pending.union([.summary])
        let paths = changedPaths
        pending.removeAll()
        changedPaths.removeAll()
        let bytes = messages(kinds, paths: paths)
        for client in clients.values {
            if !client.isBehind && client.connection.pendingBytes >= Self.lowWater {
                client.fallBehind(to: cursor(after: client.sentSeq))
            }
            if client.isBehind {
                client.missed(kinds, paths: paths)
            } else {
                client.connection.send(bytes)
            }
        }
    }

    /// Reads the log's new lines a page at a time; each page is encoded once and queued for
    /// every client still taking events. A client with `lowWater` queued falls behind here,
    /// and once none takes them the live cursor jumps to the end without reading the rest.
    private func sendLiveEvents() {
        while true {
            var takers: [SSEClient] = []
            for client in clients.values where !client.isBehind {
                if client.connection.pendingBytes < Self.lowWater {
                    takers.append(client)
                } else {
                    client.fallBehind(to: cursor(after: client.sentSeq))
                }
            }
            if takers.isEmpty {
                live = EventLogCursor(atEndOf: ui.root.events)
                return
            }
            let events = live.next(maxBytes: Self.pageBytes)
            guard let first = events.first else { return }
            let page = events.map { (seq: $0.seq, bytes: Self.encode($0)) }
            let all = page.flatMap(\.bytes)
            for client in takers {
                if client.sentSeq < first.seq {
                    client.connection.send(all)
                } else {
                    // Caught up past part of this page through its own refill.
                    let rest = page.filter { $0.seq > client.sentSeq }.flatMap(\.bytes)
                    if !rest.isEmpty { client.connection.send(rest) }
                }
                client.sentSeq = max(client.sentSeq, live.seq)
            }
        }
    }

    /// A cursor after `seq`: the live one when it stands there (no segment listing needed).
    func cursor(after seq: Int) -> EventLogCursor {
        seq == live.seq ? live : EventLogCursor(folder: ui.root.events, after: seq)
    }
}
