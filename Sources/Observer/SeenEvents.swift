#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// The `(source, id)` pairs the log already holds, over a window of at least the last
/// `minKeys` events or the last `minDays` days, whichever covers more (SPEC §4.1): a producer's
/// retry — an agent that lost the answer to its post, a file dropped twice, the inbox files
/// of a batch cut short by a crash — is counted as a duplicate instead of being logged again.
///
/// The window is rebuilt from the log's tail at start-up, so it survives restarts and world
/// rebuilds without a file of its own to keep consistent with the log. Each pair is kept as
/// 128 bits of a keyed hash (SipHash, with the key Swift picks at random per process): a
/// collision — an event wrongly taken for a repeat — is a 2⁻¹²⁸ chance per pair, and a
/// producer cannot pick ids to cause one without knowing the key.
struct SeenEvents {
    struct Key: Hashable {
        let high: UInt64
        let low: UInt64
    }

    static let minKeys = 1_000_000
    static let minDays = 7
    /// The window's own bounds (smaller ones in tests).
    let minKeys: Int
    let minDays: Int

    init(minKeys: Int = SeenEvents.minKeys, minDays: Int = SeenEvents.minDays) {
        self.minKeys = minKeys
        self.minDays = minDays
    }

    /// The keys in the order they were logged, with the day (since the epoch) of each: what is
    /// forgotten first. A ring: `head` is the oldest, `count` are kept; it doubles when full.
    private var order = [Key](repeating: Key(high: 0, low: 0), count: 1024)
    private var days = [Int32](repeating: 0, count: 1024)
    private var head = 0
    private(set) var count = 0
    /// An open-addressing index over the ring (slot → ring position + 1; 0 is empty), linear
    /// probing, at most half full: 4 bytes a slot, where a `Set<Key>` takes 16 and the ring
    /// would still be needed for the order. About 28 MB at a million pairs.
    private var slots = [UInt32](repeating: 0, count: 2048)

    static func key(source: String, id: String) -> Key {
        var source = source, id = id
        return source.withUTF8 { source in id.withUTF8 { id in key(source: UnsafeRawBufferPointer(source), id: UnsafeRawBufferPointer(id)) } }
    }

    static func key(source: UnsafeRawBufferPointer, id: UnsafeRawBufferPointer) -> Key {
        // The same input under two prefixes: two independent 64-bit outputs. The length of the
        // source keeps ("ab", "c") apart from ("a", "bc").
        func hash(_ prefix: UInt8) -> UInt64 {
            var hasher = Hasher()
            hasher.combine(prefix)
            hasher.combine(source.count)
            hasher.combine(bytes: source)
            hasher.combine(bytes: id)
            return UInt64(bitPattern: Int64(hasher.finalize()))
        }
        return Key(high: hash(1), low: hash(2))
    }

    func contains(_ key: Key) -> Bool { find(key) != nil }

    /// Remembers a logged event's key; forgets the oldest ones the window no longer needs.
    mutating func insert(_ key: Key, day: Int) {
        guard find(key) == nil else { return }
        if count == order.count { grow() }
        let position = (head + count) & (order.count - 1)
        order[position] = key
        days[position] = Int32(day)
        count += 1
        place(position)
        while count > minKeys, Int(days[head]) < day - minDays { removeOldest() }
    }

    private var mask: Int { slots.count - 1 }

    private func home(_ key: Key) -> Int { Int(truncatingIfNeeded: key.low) & mask }

    /// The slot that holds `key`, if any.
    private func find(_ key: Key) -> Int? {
        var slot = home(key)
        while slots[slot] != 0 {
            if order[Int(slots[slot]) - 1] == key { return slot }
            slot = (slot + 1) & mask
        }
        return nil
    }

    private mutating func place(_ position: Int) {
        var slot = home(order[position])
        while slots[slot] != 0 { slot = (slot + 1) & mask }
        slots[slot] = UInt32(position + 1)
    }

    /// Forgets the oldest key: its slot is emptied by backward-shift deletion, so lookups never
    /// meet a tombstone.
    private mutating func removeOldest() {
        var hole = find(order[head])!
        slots[hole] = 0
        var slot = (hole + 1) & mask
        while slots[slot] != 0 {
            let wanted = home(order[Int(slots[slot]) - 1])
            // Move it back into the hole unless its home lies cyclically in (hole, slot].
            let stays = hole <= slot ? (wanted > hole && wanted <= slot) : (wanted > hole || wanted <= slot)
            if !stays {
                slots[hole] = slots[slot]
                slots[slot] = 0
                hole = slot
            }
            slot = (slot + 1) & mask
        }
        head = (head + 1) & (order.count - 1)
        count -= 1
    }

    /// Twice the ring, laid out from its start, and an index twice as large.
    private mutating func grow() {
        let capacity = order.count * 2
        var newOrder = [Key](repeating: Key(high: 0, low: 0), count: capacity)
        var newDays = [Int32](repeating: 0, count: capacity)
        for index in 0..<count {
            newOrder[index] = order[(head + index) & (order.count - 1)]
            newDays[index] = days[(head + index) & (order.count - 1)]
        }
        (order, days, head) = (newOrder, newDays, 0)
        slots = [UInt32](repeating: 0, count: capacity * 2)
        for position in 0..<count { place(position) }
    }

    static func day(of timestamp: Timestamp) -> Int { Int(timestamp.secondsSinceEpoch / 86_400) }

    static func day(named name: String) -> Int? {
        Timestamp(rfc3339: name + "T00:00:00Z").map(day(of:))
    }

    /// The window as the log holds it: the keys of the segments that cover the last `minKeys`
    /// events and the last `minDays` days. Lines are read as the observer writes them — `id`
    /// and `source` first, `receivedat` last — without parsing the rest (a million lines take
    /// well under a second); any other line is parsed whole.
    static func load(from folder: String, lastSeq: Int, today: Int, minKeys: Int = SeenEvents.minKeys) throws(SystemError) -> SeenEvents {
        var seen = SeenEvents(minKeys: minKeys)
        let segments = EventLogFiles.segments(in: folder)
        let byCount = segments.lastIndex { $0.firstSeq <= lastSeq - minKeys + 1 } ?? 0
        let byDay = segments.firstIndex { (day(named: $0.day) ?? today) >= today - minDays } ?? segments.count
        var lastDay: (name: [UInt8], day: Int) = ([], today)
        func add(source: UnsafeRawBufferPointer, id: UnsafeRawBufferPointer, dayName: UnsafeBufferPointer<UInt8>) {
            if !dayName.elementsEqual(lastDay.name) { lastDay = (Array(dayName), day(named: String(decoding: dayName, as: UTF8.self)) ?? today) }
            seen.insert(key(source: source, id: id), day: lastDay.day)
        }
        for segment in segments[min(byCount, byDay)...] {
            try forEachLine(of: segment.path) { line in
                if let (source, id, dayName) = fields(of: line) {
                    add(source: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: line[source])),
                        id: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: line[id])), dayName: UnsafeBufferPointer(rebasing: line[dayName]))
                } else if let event = LoggedEvent(line: line) {
                    var (source, id, received) = (event.source, event.id, event.receivedAt)
                    source.withUTF8 { source in id.withUTF8 { id in received.withUTF8 { received in
                        add(source: UnsafeRawBufferPointer(source), id: UnsafeRawBufferPointer(id), dayName: UnsafeBufferPointer(rebasing: received.prefix(10)))
                    } } }
                }
            }
        }
        return seen
    }

    private static let head = Array(#"{"specversion":"1.0","id":""#.utf8)
    private static let between = Array(#"","source":""#.utf8)
    private static let receivedMarks = [Array(#""receivedat":""#.utf8), Array(#""receivedAt":""#.utf8)]
    /// `2026-11-26T15:00:00.000Z`, as the observer stamps a batch.
    private static let stampLength = 24

    /// Where `source`, `id` and the day of receipt are in a line the observer wrote, without
    /// escapes; nil for anything else.
    static func fields(of line: UnsafeBufferPointer<UInt8>) -> (source: Range<Int>, id: Range<Int>, day: Range<Int>)? {
        let tail = stampLength + 2  // the stamp, its closing quote and the object's brace
        guard line.count > head.count + between.count + receivedMarks[0].count + tail,
              line.starts(with: head), line[line.count - 2] == UInt8(ascii: "\""), line[line.count - 1] == UInt8(ascii: "}")
        else { return nil }
        let stamp = line.count - tail
        let mark = UnsafeBufferPointer(rebasing: line[(stamp - receivedMarks[0].count)..<stamp])
        guard receivedMarks.contains(where: { mark.elementsEqual($0) }) else { return nil }
        func string(from start: Int) -> Int? {  // the index of the closing quote
            var index = start
            while index < stamp {
                switch line[index] {
                case UInt8(ascii: "\""): return index
                case UInt8(ascii: "\\"): return nil
                default: index += 1
                }
            }
            return nil
        }
        guard let idEnd = string(from: head.count),
              UnsafeBufferPointer(rebasing: line[idEnd..<min(idEnd + between.count, line.count)]).elementsEqual(between),
              let sourceEnd = string(from: idEnd + between.count)
        else { return nil }
        return ((idEnd + between.count)..<sourceEnd, head.count..<idEnd, stamp..<(stamp + 10))
    }

    /// Every complete line of a segment, read a megabyte at a time.
    private static func forEachLine(of path: String, _ body: (UnsafeBufferPointer<UInt8>) -> Void) throws(SystemError) {
        try FileDescriptor.open(path, O_RDONLY).closeAfter { (file) throws(SystemError) in
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            var kept = 0  // bytes of an unfinished line at the buffer's start
            var offset = 0
            while true {
                if kept == buffer.count { buffer += [UInt8](repeating: 0, count: buffer.count) }  // a line longer than the buffer
                let n = try systemCall("pread", path) {
                    buffer.withUnsafeMutableBytes { pread(file.rawValue, $0.baseAddress! + kept, $0.count - kept, off_t(offset)) }
                }
                if n == 0 { return }
                offset += n
                let end = kept + n
                var start = 0
                buffer.withUnsafeBufferPointer { bytes in
                    while let newline = EventLogFiles.newline(in: bytes, from: start, to: end) {
                        body(UnsafeBufferPointer(rebasing: bytes[start..<newline]))
                        start = newline + 1
                    }
                }
                kept = end - start
                if kept > 0 && start > 0 { buffer.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: $0.baseAddress! + start, count: kept) } }
            }
        }
    }
}
