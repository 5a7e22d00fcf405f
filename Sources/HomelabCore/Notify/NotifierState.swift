import FSWatch

/// `notify/state.json`: how far the notifier has read the log (`seq`: every event up to it is
/// either in the outbox or deserved no message), and what it last said about conditions it
/// derives from time rather than from one event — which services and nodes it reported down,
/// each node's spool-gap count — so a restart neither repeats nor forgets them.
public struct NotifierState: Equatable, Sendable {
    public var seq: Int
    /// `service/NAME` and `node/NAME` reported down (or stale) and not yet back.
    public var down: Set<String>
    /// Each node's agent gap count as last seen.
    public var gaps: [String: Int]

    public init(seq: Int = 0, down: Set<String> = [], gaps: [String: Int] = [:]) {
        self.seq = seq
        self.down = down
        self.gaps = gaps
    }

    public static func read(root: RuntimeRoot) -> NotifierState? {
        guard let object = FileContents.object(root.notifyState), let seq = object["seq"]?.int else { return nil }
        var gaps: [String: Int] = [:]
        for (node, value) in object["gaps"]?.object ?? [:] { gaps[node] = value.int ?? 0 }
        return NotifierState(seq: seq, down: Set((object["down"]?.array ?? []).compactMap(\.string)), gaps: gaps)
    }

    /// Durable: the outbox files it covers were synced before it.
    public func write(root: RuntimeRoot) throws(SystemError) {
        let object: JSONObject = [
            "seq": .int(seq), "down": .array(down.sorted().map { .string($0) }),
            "gaps": .object(JSONObject(gaps.keys.sorted().map { (key: $0, value: .int(gaps[$0]!)) })),
        ]
        try AtomicFile.write(JSONWriter.encode(.object(object)), to: root.notifyState, durability: .fileAndFolder)
    }
}
