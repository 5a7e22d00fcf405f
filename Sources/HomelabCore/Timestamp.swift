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

    /// When `path` was last modified (to the second), or nil when it is not there.
    /// The corresponding C function is `stat`.
    public static func modified(_ path: String) -> Timestamp? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Timestamp(secondsSinceEpoch: Int64(info.st_mtim.tv_sec))
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

extension Timestamp {
    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, the shape RFC 3339 allows (`t`/`z` too).
    public static func isRFC3339(_ text: String) -> Bool {
        let b = Array(text.utf8)
        func digits(_ range: Range<Int>) -> Bool { range.upperBound <= b.count && range.allSatisfy { b[$0] >= 48 && b[$0] <= 57 } }
        guard b.count >= 20, digits(0..<4), b[4] == 45, digits(5..<7), b[7] == 45, digits(8..<10),
              b[10] == 84 || b[10] == 116, digits(11..<13), b[13] == 58, digits(14..<16), b[16] == 58, digits(17..<19)
        else { return false }
        var i = 19
        if b[i] == 46 {
            i += 1
            let start = i
            while i < b.count && b[i] >= 48 && b[i] <= 57 { i += 1 }
            if i == start { return false }
        }
        guard i < b.count else { return false }
        if b[i] == 90 || b[i] == 122 { return i + 1 == b.count }
        guard b[i] == 43 || b[i] == 45, i + 6 == b.count, digits((i + 1)..<(i + 3)), b[i + 3] == 58, digits((i + 4)..<(i + 6)) else { return false }
        return true
    }
}

extension Timestamp {
    /// Parses RFC 3339 (`2026-11-26T15:00:00Z`, fractions and offsets allowed).
    public init?(rfc3339 text: String) {
        guard Timestamp.isRFC3339(text) else { return nil }
        let b = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int64 { range.reduce(0) { $0 * 10 + Int64(b[$1] - 48) } }
        let (year, month, day) = (number(0..<4), number(5..<7), number(8..<10))
        let seconds = number(11..<13) * 3600 + number(14..<16) * 60 + number(17..<19)
        var i = 19
        var nanos: Int64 = 0
        if b[i] == 46 {
            i += 1
            var scale: Int64 = 100_000_000
            while i < b.count && b[i] >= 48 && b[i] <= 57 {
                nanos += Int64(b[i] - 48) * scale
                scale /= 10
                i += 1
            }
        }
        var offset: Int64 = 0
        if b[i] == 43 || b[i] == 45 {
            offset = (number((i + 1)..<(i + 3)) * 3600 + number((i + 4)..<(i + 6)) * 60) * (b[i] == 43 ? 1 : -1)
        }
        // Days from civil (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        self.init(secondsSinceEpoch: days * 86_400 + seconds - offset, nanoseconds: Int32(nanos))
    }

    /// Seconds from `self` to `later` (negative if `later` is earlier).
    public func seconds(until later: Timestamp) -> Double {
        Double(later.secondsSinceEpoch - secondsSinceEpoch) + Double(later.nanoseconds - nanoseconds) / 1e9
    }

    public func adding(seconds: Double) -> Timestamp {
        let whole = seconds.rounded(.down)
        var nanos = Int64(nanoseconds) + Int64((seconds - whole) * 1e9)
        var secs = secondsSinceEpoch + Int64(whole)
        if nanos >= 1_000_000_000 { nanos -= 1_000_000_000; secs += 1 }
        return Timestamp(secondsSinceEpoch: secs, nanoseconds: Int32(nanos))
    }
}
