#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// `/stream`: Server-Sent Events. `event` messages carry `id: SEQ` and are replayed from the
/// log after `Last-Event-ID` (or `?lastEventId=`); the other types (`summary`, `drift`,
/// `world`, `action`, `output`) say what changed. Changes are coalesced per type into one
/// message per loop turn — never dropped for a client that keeps up; a client that falls
/// more than 4 MiB behind is disconnected (its browser reconnects with `Last-Event-ID`),
/// so one stalled client never holds the others.
final class EventStream {
    enum Kind: Hashable { case world, action, drift, summary, output }

    final class Client {
        let connection: HTTPServer.Connection
        var sentSeq: Int
        init(connection: HTTPServer.Connection, sentSeq: Int) {
            self.connection = connection
            self.sentSeq = sentSeq
        }
    }

    static let maxBacklog = 4 << 20

    private unowned let ui: UIService
    private var clients: [ObjectIdentifier: Client] = [:]
    private var pending: Set<Kind> = []
    private var changedPaths: [Kind: Set<String>] = [:]
    private var logGrown = false
    private var flushScheduled = false
    private var tail: LogTail

    var clientCount: Int { clients.count }

    init(ui: UIService) {
        self.ui = ui
        tail = LogTail(folder: ui.root.events)
    }

    func open(_ request: HTTPRequest, _ connection: HTTPServer.Connection) -> HTTPResponse? {
        connection.stream(headers: HTTPResponse(status: 200, headers: [
            ("Content-Type", "text/event-stream"), ("Cache-Control", "no-store"), ("X-Accel-Buffering", "no"),
        ]))
        connection.send(Array(": connected\nretry: 1000\n\n".utf8))  // flushes the headers at once
        let client = Client(connection: connection, sentSeq: tail.seq)
        if let text = request.header("last-event-id") ?? request.query["lastEventId"], let last = Int(text), last >= 0 {
            // Replay what was missed, then go live from where the replay ended.
            for event in EventLogFiles.events(in: ui.root.events, after: last, limit: 100_000) { send(event, to: client) }
            client.sentSeq = max(client.sentSeq, last)
        }
        connection.send(message("summary", data: ui.summary()))
        let key = ObjectIdentifier(connection)
        clients[key] = client
        connection.onClose = { [weak self] in self?.clients[key] = nil }
        return nil
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

    func keepAlive() {
        for client in clients.values { client.connection.send(Array(": keep-alive\n\n".utf8)) }
    }

    private func scheduleFlush() {
        guard !flushScheduled, let reactor = ui.reactor else { return }
        flushScheduled = true
        reactor.runSoon { [weak self] in self?.flush() }
    }

    /// One message per changed type, to every client.
    private func flush() {
        flushScheduled = false
        var messages: [UInt8] = []
        if !pending.isEmpty || logGrown { messages += message("summary", data: ui.summary()) }
        if pending.contains(.drift) {
            messages += message("drift", data: FileContents.read(ui.root.driftReport).map { Array($0.prefix { $0 != 0x0A }) } ?? Array("{}".utf8))
        }
        for (kind, name) in [(Kind.world, "world"), (.action, "action"), (.output, "output")] where pending.contains(kind) {
            let changed = (changedPaths[kind] ?? []).sorted().map { path -> JSONValue in
                let file = path.split(separator: "/").last.map(String.init) ?? path
                return .string(kind == .world ? String(path.dropFirst(ui.root.world.count + 1)) : String(file.prefix { $0 != "." }))
            }
            messages += message(name, data: JSONWriter.encode(.object(["changed": .array(changed)])))
        }
        pending.removeAll()
        changedPaths.removeAll()
        // Each event is encoded once, whatever the number of clients.
        let events = (logGrown ? tail.read() : []).map { (seq: $0.seq, bytes: Self.encode($0)) }
        logGrown = false
        for client in clients.values {
            var bytes: [UInt8] = []
            for event in events where event.seq > client.sentSeq {
                bytes += event.bytes
                client.sentSeq = event.seq
            }
            bytes += messages
            if !bytes.isEmpty { client.connection.send(bytes) }
            if client.connection.pendingBytes > Self.maxBacklog {
                ui.logger.warning("an SSE client at \(client.connection.remoteAddress) fell \(client.connection.pendingBytes) bytes behind: disconnected")
                client.connection.abort()
            }
        }
    }

    private func send(_ event: LoggedEvent, to client: Client) {
        client.connection.send(Self.encode(event))
        client.sentSeq = event.seq
    }

    private static func encode(_ event: LoggedEvent) -> [UInt8] {
        Array("id: \(event.seq)\nevent: event\ndata: ".utf8) + JSONWriter.encode(.object(event.envelope)) + Array("\n\n".utf8)
    }

    private func message(_ type: String, data: [UInt8]) -> [UInt8] {
        Array("event: \(type)\ndata: ".utf8) + data.filter { $0 != 0x0A } + Array("\n\n".utf8)
    }
}

/// Follows the end of the event log: the byte offset in the newest segment, so each append
/// costs only the new lines.
struct LogTail {
    let folder: String
    private var segment: String?
    private var offset = 0
    private(set) var seq = 0

    init(folder: String) {
        self.folder = folder
        if let last = EventLogFiles.segments(in: folder).last {
            segment = last.path
            offset = fileSize(last.path)
        }
        seq = EventLogFiles.last(in: folder)?.seq ?? 0
    }

    /// The complete lines appended since the last call.
    mutating func read() -> [LoggedEvent] {
        var events: [LoggedEvent] = []
        let segments = EventLogFiles.segments(in: folder)
        let start = segments.firstIndex { $0.path == segment } ?? 0
        for (index, candidate) in segments[start...].enumerated() {
            if index > 0 || segment == nil {
                segment = candidate.path
                offset = 0
            }
            let bytes = bytesAfter(offset, in: candidate.path)
            guard let end = bytes.lastIndex(of: 0x0A) else { continue }
            var lineStart = 0
            bytes.withUnsafeBufferPointer { all in
                while lineStart <= end, let newline = all[lineStart...end].firstIndex(of: 0x0A) {
                    if let event = LoggedEvent(line: UnsafeBufferPointer(rebasing: all[lineStart..<newline])) { events.append(event) }
                    lineStart = newline + 1
                }
            }
            offset += end + 1
        }
        if let last = events.last { seq = last.seq }
        return events
    }

    private func fileSize(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }

    /// What the file holds past `offset`.
    private func bytesAfter(_ offset: Int, in path: String) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        let count = fileSize(path) - offset
        guard count > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: count)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
        return n > 0 ? Array(bytes[0..<n]) : []
    }
}
