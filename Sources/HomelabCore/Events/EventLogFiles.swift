#if canImport(Glibc)
import Glibc
#endif
import FSWatch

/// The event log's files as readers see them (SPEC §4.3): segments `events/YYYY-MM-DD/SEQ.jsonl`
/// named by their first seq. The observer writes them; readers go through `EventLogCursor`.
public enum EventLogFiles {
    public struct Segment: Sendable {
        public let day: String
        public let firstSeq: Int
        public var path: String

        public init(day: String, firstSeq: Int, path: String) {
            self.day = day
            self.firstSeq = firstSeq
            self.path = path
        }
    }

    /// Every segment, oldest first; from `fromDay` on when given (a reader at the end of the
    /// log looks for the next segment without listing every day folder of the year).
    public static func segments(in folder: String, fromDay: String? = nil) -> [Segment] {
        var found: [Segment] = []
        for day in listDirectory(folder).map(\.name).sorted() where isDay(day) && day >= (fromDay ?? "") {
            for file in listDirectory(folder + "/" + day).map(\.name) where file.hasSuffix(".jsonl") && file.utf8.count == 18 {
                guard let first = Int(file.prefix(12)) else { continue }
                found.append(Segment(day: day, firstSeq: first, path: folder + "/" + day + "/" + file))
            }
        }
        return found.sorted { $0.firstSeq < $1.firstSeq }
    }

    /// The index of the first newline in `bytes[start..<end]`: `memchr`, which a rebuild's
    /// line split spent a sixth of its time without.
    public static func newline(in bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Int? {
        guard start < end, let base = bytes.baseAddress, let found = memchr(base + start, 0x0A, end - start) else { return nil }
        return UnsafeRawPointer(found).assumingMemoryBound(to: UInt8.self) - base
    }

    private static func isDay(_ name: String) -> Bool {
        name.utf8.count == 10 && Timestamp.isRFC3339(name + "T00:00:00Z")
    }
}
