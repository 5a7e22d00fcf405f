#if canImport(Glibc)
import Glibc
#endif

/// Where the fields a fold needs are in one log line, found in one pass over its bytes without
/// building a JSON tree: what lets a rebuild replay half a million events a second (a full
/// parse builds an object for every line and every `data`). Only a line in the form the
/// observer writes qualifies — no whitespace between tokens, no escapes in the keys or in
/// `type`, `subject`, `time`, `source` and `receivedat` — anything else is nil, and the caller
/// parses it whole (`LoggedEvent(line:)`). `data` is the raw bytes of the value: in a line
/// the observer wrote they are exactly `JSONWriter.encode` of the parsed value.
public struct LogLineFields {
    public var seq = -1
    public var type: Range<Int>?
    public var subject: Range<Int>?
    public var time: Range<Int>?
    public var source: Range<Int>?
    public var receivedAt: Range<Int>?
    public var data: Range<Int>?

    /// The field a key names (0 seq, 1 type, 2 subject, 3 time, 4 source, 5 receivedat, 6
    /// data), nil for the others: by length and first byte, then the bytes — every member of
    /// every line of a rebuild comes through here.
    private static func field(named key: UnsafeBufferPointer<UInt8>) -> Int? {
        func equals(_ name: StaticString) -> Bool {
            memcmp(key.baseAddress!, name.utf8Start, key.count) == 0
        }
        switch (key.count, key.first) {
        case (3, UInt8(ascii: "s")): return equals("seq") ? 0 : nil
        case (4, UInt8(ascii: "t")): return equals("type") ? 1 : equals("time") ? 3 : nil
        case (4, UInt8(ascii: "d")): return equals("data") ? 6 : nil
        case (7, UInt8(ascii: "s")): return equals("subject") ? 2 : nil
        case (6, UInt8(ascii: "s")): return equals("source") ? 4 : nil
        case (10, UInt8(ascii: "r")): return equals("receivedat") || equals("receivedAt") ? 5 : nil
        default: return nil
        }
    }

    public static func scan(_ line: UnsafeBufferPointer<UInt8>) -> LogLineFields? {
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        let n = line.count
        guard n > 2, line[0] == UInt8(ascii: "{") else { return nil }
        var fields = LogLineFields()
        var i = 1
        while i < n {
            guard line[i] == quote else { return nil }
            let keyStart = i + 1
            var keyEnd = keyStart
            while keyEnd < n && line[keyEnd] != quote {
                if line[keyEnd] == backslash { return nil }
                keyEnd += 1
            }
            guard keyEnd + 1 < n, line[keyEnd + 1] == UInt8(ascii: ":") else { return nil }
            let valueStart = keyEnd + 2
            guard let valueEnd = skipValue(line, from: valueStart) else { return nil }
            let key = UnsafeBufferPointer(rebasing: line[keyStart..<keyEnd])
            if let field = field(named: key) {
                if field == 0 {
                    var value = 0
                    for index in valueStart..<valueEnd {
                        let digit = line[index] &- UInt8(ascii: "0")
                        guard digit < 10, value < Int.max / 10 - 10 else { return nil }
                        value = value * 10 + Int(digit)
                    }
                    fields.seq = value
                } else if field == 6 {
                    fields.data = valueStart..<valueEnd
                } else {
                    // A string without escapes: the bytes between the quotes.
                    guard line[valueStart] == quote, valueEnd - valueStart >= 2 else { return nil }
                    let inner = (valueStart + 1)..<(valueEnd - 1)
                    if line[inner].contains(backslash) { return nil }
                    switch field {
                    case 1: fields.type = inner
                    case 2: fields.subject = inner
                    case 3: fields.time = inner
                    case 4: fields.source = inner
                    default: fields.receivedAt = inner
                    }
                }
            }
            i = valueEnd
            guard i < n else { return nil }
            if line[i] == UInt8(ascii: "}") { return i == n - 1 && fields.isComplete ? fields : nil }
            guard line[i] == UInt8(ascii: ",") else { return nil }
            i += 1
        }
        return nil
    }

    /// The seq of a line the observer wrote: its last members are `"seq":N,"receivedat":"…"}`,
    /// so it is read from the end; nil for any other line (the caller parses it).
    public static func seqOf(_ line: UnsafeBufferPointer<UInt8>) -> Int? {
        let mark = Array(#","seq":"#.utf8)
        // `,"seq":N,"receivedat":"2026-11-26T15:00:00.000Z"}`: the stamp is 24 bytes.
        let tail = 24 + 2 + #","receivedat":""#.utf8.count
        guard line.count > tail + mark.count + 1 else { return nil }
        var end = line.count - tail
        guard line[end] == UInt8(ascii: ",") else { return nil }
        var value = 0, scale = 1
        end -= 1
        while end >= 0, line[end] >= UInt8(ascii: "0"), line[end] <= UInt8(ascii: "9") {
            guard scale < Int.max / 10 else { return nil }
            value += Int(line[end] - UInt8(ascii: "0")) * scale
            scale *= 10
            end -= 1
        }
        guard scale > 1, end + 1 >= mark.count, UnsafeBufferPointer(rebasing: line[(end + 1 - mark.count)...end]).elementsEqual(mark) else { return nil }
        return value
    }

    private var isComplete: Bool { seq >= 0 && type != nil && time != nil && source != nil && receivedAt != nil }

    /// The index just past the JSON value starting at `start`; nil if it does not end in the line.
    private static func skipValue(_ line: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        let n = line.count
        guard start < n else { return nil }
        var i = start
        var depth = 0
        var inString = false
        while i < n {
            let byte = line[i]
            if inString {
                if byte == UInt8(ascii: "\\") { i += 1 } else if byte == UInt8(ascii: "\"") {
                    inString = false
                    if depth == 0 { return i + 1 }
                }
            } else {
                switch byte {
                case UInt8(ascii: "\""): inString = true
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    if depth == 0 { return i }  // the end of a scalar before the enclosing brace
                    depth -= 1
                    if depth == 0 { return i + 1 }
                case UInt8(ascii: ","):
                    if depth == 0 { return i }
                default: break
                }
            }
            i += 1
        }
        return nil
    }
}
