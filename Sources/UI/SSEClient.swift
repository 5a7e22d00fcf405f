import HomelabCore

/// One `/stream` connection and how far it has been sent. A client is live (it takes new
/// events as they are logged) or behind (it is refilled from the log through `cursor` when
/// its connection drains, and remembers which messages it missed meanwhile).
final class SSEClient {
    let connection: HTTPServer.Connection
    /// The last seq queued for it.
    var sentSeq: Int
    /// Where its refill from the log continues; nil while it is live.
    var cursor: EventLogCursor?
    /// The message types it missed while behind: each is sent once when it catches up,
    /// with every path that changed meanwhile.
    private(set) var missedKinds: Set<EventStream.Kind> = []
    private(set) var missedPaths: [EventStream.Kind: Set<String>] = [:]
    var refillScheduled = false

    var isBehind: Bool { cursor != nil }

    init(connection: HTTPServer.Connection, sentSeq: Int) {
        self.connection = connection
        self.sentSeq = sentSeq
    }

    func fallBehind(to cursor: EventLogCursor, missing kinds: Set<EventStream.Kind> = []) {
        self.cursor = cursor
        missedKinds.formUnion(kinds)
    }

    func missed(_ kinds: Set<EventStream.Kind>, paths: [EventStream.Kind: Set<String>]) {
        missedKinds.formUnion(kinds)
        missedPaths.merge(paths) { $0.union($1) }
    }

    /// Live again: what it missed, to be sent now.
    func caughtUp() -> (kinds: Set<EventStream.Kind>, paths: [EventStream.Kind: Set<String>]) {
        defer {
            cursor = nil
            missedKinds.removeAll()
            missedPaths.removeAll()
        }
        return (missedKinds, missedPaths)
    }
}
