import FSWatch
import HomelabCore

/// The `(source, id)` pairs the log already holds, over a window of at least the last
/// `minKeys` events or the last `minDays` days, whichever covers more (SPEC §4.1): a producer's
/// retry — an agent that lost the answer to its post, a file dropped twice, the inbox files
/// of a batch cut short by a crash — is counted as a duplicate instead of being logged again.
///
/// The window is rebuilt from the log's tail at start-up, so it survives restarts and world
/// rebuilds without a file of its own to keep consistent with the log. Each pair is kept as
/// 128 bits of its SHA-256: a collision (an event wrongly taken for a repeat) is as unlikely
/// as a SHA-256 collision on 128 bits, even for a producer that picks its ids to cause one.
struct SeenEvents {
    struct Key: Hashable {
        let high: UInt64
        let low: UInt64
    }

    static let minKeys = 1_000_000
    static let minDays = 7

    private var keys: Set<Key> = []
    /// The keys in the order they were logged, with the day (since the epoch) of each: what is
    /// forgotten first. `head` is the oldest still kept.
    private var order: [Key] = []
    private var days: [Int32] = []
    private var head = 0

    var count: Int { keys.count }

    static func key(source: String, id: String) -> Key {
        let digest = Digest.sha256(Array(LoggedEvent.key(source: source, id: id).utf8))
        var high: UInt64 = 0, low: UInt64 = 0
        for index in 0..<8 {
            high = high << 8 | UInt64(digest[index])
            low = low << 8 | UInt64(digest[8 + index])
        }
        return Key(high: high, low: low)
    }

    func contains(_ key: Key) -> Bool { keys.contains(key) }

    /// Remembers a logged event's key; forgets the oldest ones the window no longer needs.
    mutating func insert(_ key: Key, day: Int) {
        guard keys.insert(key).inserted else { return }
        order.append(key)
        days.append(Int32(day))
        while keys.count > Self.minKeys, Int(days[head]) < day - Self.minDays {
            keys.remove(order[head])
            head += 1
        }
        if head > 4096 && head > order.count / 2 {
            order.removeFirst(head)
            days.removeFirst(head)
            head = 0
        }
    }

    static func day(of timestamp: Timestamp) -> Int { Int(timestamp.secondsSinceEpoch / 86_400) }

    static func day(named name: String) -> Int? {
        Timestamp(rfc3339: name + "T00:00:00Z").map(day(of:))
    }

    /// The window as the log holds it: the keys of the segments that cover the last `minKeys`
    /// events and the last `minDays` days.
    static func load(from folder: String, lastSeq: Int, today: Int) throws -> SeenEvents {
        var seen = SeenEvents()
        let segments = EventLogFiles.segments(in: folder)
        let byCount = segments.lastIndex { $0.firstSeq <= lastSeq - minKeys + 1 } ?? 0
        let byDay = segments.firstIndex { (day(named: $0.day) ?? today) >= today - minDays } ?? segments.count
        let first = min(byCount, byDay)
        guard first < segments.count else { return seen }
        let start = segments[first]
        var cursor = EventLogCursor(folder: folder, segment: start, offset: 0, after: start.firstSeq - 1)
        // The day of receipt, from each line's own `receivedat` (a batch's lines share it).
        var lastDay = ("", today)
        while true {
            let events = try cursor.nextChecked(maxBytes: 1 << 20)
            guard !events.isEmpty else { break }
            for event in events {
                let name = String(event.receivedAt.prefix(10))
                if name != lastDay.0 { lastDay = (name, day(named: name) ?? today) }
                seen.insert(key(source: event.source, id: event.id), day: lastDay.1)
            }
        }
        return seen
    }
}
