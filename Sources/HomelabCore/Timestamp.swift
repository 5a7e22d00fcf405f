#if canImport(Glibc)
import Glibc
#endif

/// Wall-clock time in UTC, formatted the way every file here writes it (RFC 3339, `Z`).
public struct Timestamp: Comparable, Hashable, Sendable {
    public var secondsSinceEpoch: Int64
    public var nanoseconds: Int32

    public init(secondsSinceEpoch: Int64, nanoseconds: Int32 = 0) {
        self.secondsSinceEpoch = secondsSinceEpoch
        self.nanoseconds = nanoseconds
    }

    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(secondsSinceEpoch: Int64(ts.tv_sec), nanoseconds: Int32(ts.tv_nsec))
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool {
        (a.secondsSinceEpoch, a.nanoseconds) < (b.secondsSinceEpoch, b.nanoseconds)
    }

    private var fields: tm {
        var time = time_t(secondsSinceEpoch)
        var fields = tm()
        gmtime_r(&time, &fields)
        return fields
    }

    private static func pad(_ value: Int32, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// `2026-11-26`, the UTC day: the name of the event log's day folder.
    public var day: String {
        let f = fields
        return "\(Timestamp.pad(f.tm_year + 1900, 4))-\(Timestamp.pad(f.tm_mon + 1, 2))-\(Timestamp.pad(f.tm_mday, 2))"
    }

    /// `2026-11-26T15:00:00Z`
    public var iso8601: String {
        let f = fields
        return "\(day)T\(Timestamp.pad(f.tm_hour, 2)):\(Timestamp.pad(f.tm_min, 2)):\(Timestamp.pad(f.tm_sec, 2))Z"
    }

    /// `2026-11-26T15:00:00.123Z`
    public var iso8601Milliseconds: String {
        var text = iso8601
        text.removeLast()
        return text + "." + Timestamp.pad(nanoseconds / 1_000_000, 3) + "Z"
    }
}
