#if canImport(Glibc)
import Glibc
#endif
import FSWatch

/// A reader's place in the event log: the segment, the byte offset of the next unread line in
/// it, and the last seq handed out. `next` returns the complete lines after it, moving on to
/// the following segment when one is used up, so the UI's stream, `/api/events`, the summary
/// and the observer's replay all read the log the same way. A line still being written is
/// left for a later call; an event at or below the seq already handed out is never returned
/// again.
public struct EventLogCursor: Sendable {
    /// A line that is not a log event, for readers that must stop there (the observer).
    public struct InvalidLine: Error, CustomStringConvertible {
        public let path: String
        public let offset: Int
        public let afterSeq: Int
        public var description: String { "\(path): a line that is not a log event at byte \(offset), after seq \(afterSeq)" }
    }

    public let folder: String
    /// The last seq handed out, or the seq the cursor was created after.
    public private(set) var seq: Int
    private var segment: EventLogFiles.Segment?
    private var offset = 0

    /// The path of the segment the last events came from.
    public var segmentPath: String? { segment?.path }
    /// Where in that segment the next read starts.
    public var byteOffset: Int { offset }

    /// Before the first event with a seq above `seq` (0 or less: the whole log).
    public init(folder: String, after seq: Int) {
        self.folder = folder
        let seq = max(0, seq)
        self.seq = seq
        let all = EventLogFiles.segments(in: folder)
        // The last segment that can hold seq + 1, written so that Int.max cannot overflow.
        segment = all.last { $0.firstSeq - 1 <= seq } ?? all.first
    }

    /// At `offset` of `segment`, which must be the start of a line (a place an index kept), and
    /// before the first event above `seq` from there: a reader that seeks instead of reading the
    /// segment from its start.
    public init(folder: String, segment: EventLogFiles.Segment, offset: Int, after seq: Int) {
        self.folder = folder
        self.seq = max(0, seq)
        self.segment = segment
        self.offset = offset
    }

    /// After the last complete line of the log: only what is appended from now on.
    public init(atEndOf folder: String) {
        self.folder = folder
        seq = 0
        let all = EventLogFiles.segments(in: folder)
        segment = all.last
        guard let last = all.last else { return }
        seq = last.firstSeq - 1
        if let (end, event) = EventLogCursor.lastLine(in: last.path) {
            offset = end
            if let event { seq = event.seq }
        } else if all.count > 1, let event = EventLogCursor.lastEvent(in: Array(all.dropLast())) {
            // The newest segment has no complete line yet: the log ends in the one before.
            seq = event.seq
        }
    }

    /// The last complete event of the log, read from the end.
    public static func lastEvent(in folder: String) -> LoggedEvent? {
        lastEvent(in: EventLogFiles.segments(in: folder))
    }

    /// Up to `maxEvents` events, reading about `maxBytes` of the log (at least one whole
    /// line, however long); empty when the reader is at the end. Lines that are not events
    /// are skipped.
    public mutating func next(maxBytes: Int, maxEvents: Int = .max) -> [LoggedEvent] {
        (try? read(maxBytes: maxBytes, maxEvents: maxEvents, strict: false)) ?? []
    }

    /// As `next`, but stops at a line that is not an event: the events before it come back
    /// first, and the following call throws.
    public mutating func nextChecked(maxBytes: Int, maxEvents: Int = .max) throws(InvalidLine) -> [LoggedEvent] {
        try read(maxBytes: maxBytes, maxEvents: maxEvents, strict: true)
    }

    private mutating func read(maxBytes: Int, maxEvents: Int, strict: Bool) throws(InvalidLine) -> [LoggedEvent] {
        if segment == nil { segment = EventLogFiles.segments(in: folder).first }
        while let current = segment {
            let bytes = EventLogCursor.completeLines(in: current.path, from: offset, atLeast: max(1, maxBytes))
            if bytes.isEmpty {
                // Used up for now. The observer starts a segment only after finishing the last
                // write to the one before, so a later segment means this one is complete.
                guard let following = EventLogFiles.segments(in: folder, fromDay: current.day).first(where: { $0.firstSeq > current.firstSeq })
                else { return [] }
                segment = following
                offset = 0
                continue
            }
            var events: [LoggedEvent] = []
            var invalid: InvalidLine?
            bytes.withUnsafeBufferPointer { all in
                var start = 0
                while events.count < maxEvents, let newline = all[start...].firstIndex(of: 0x0A) {
                    if let event = LoggedEvent(line: UnsafeBufferPointer(rebasing: all[start..<newline])) {
                        if event.seq > seq {
                            events.append(event)
                            seq = event.seq
                        }
                    } else if strict {
                        invalid = InvalidLine(path: current.path, offset: offset, afterSeq: seq)
                        return
                    }
                    offset += newline + 1 - start
                    start = newline + 1
                }
            }
            if !events.isEmpty { return events }
            if let invalid { throw invalid }
            // Everything read was at or below `seq` (a start in the middle): read on.
        }
        return []
    }

    /// The bytes of `path` from `offset` up to the end of the last complete line, reading
    /// `atLeast` bytes, or more when no line ends within them.
    private static func completeLines(in path: String, from offset: Int, atLeast count: Int) -> [UInt8] {
        guard let file = try? FileDescriptor.open(path, O_RDONLY) else { return [] }
        return file.closeAfter { file in completeLines(of: file.rawValue, from: offset, atLeast: count) }
    }

    private static func completeLines(of fd: Int32, from offset: Int, atLeast count: Int) -> [UInt8] {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return [] }
        let available = Int(info.st_size) - offset
        var want = min(count, available)
        while want > 0 {
            var bytes = [UInt8](repeating: 0, count: want)
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(offset)) }
            guard n > 0 else { return [] }
            if let end = bytes[0..<n].lastIndex(of: 0x0A) {
                bytes.removeSubrange((end + 1)...)
                return bytes
            }
            if n < want || want == available { return [] }  // only a line still being written
            want = min(want * 2, available)
        }
        return []
    }

    /// The end offset of the last complete line of `path` and that line as an event (nil when
    /// it is not one); nil when the file holds no complete line.
    private static func lastLine(in path: String) -> (end: Int, event: LoggedEvent?)? {
        guard let file = try? FileDescriptor.open(path, O_RDONLY) else { return nil }
        return file.closeAfter { file in lastLine(of: file.rawValue) }
    }

    /// The end of the last complete line of the open segment `fd`, and that line's event (nil
    /// when it is not one); nil when the segment holds no complete line. The one tail reader:
    /// a reader at the end of the log and the observer's recovery both start here.
    public static func lastLine(of fd: Int32) -> (end: Int, event: LoggedEvent?)? {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return nil }
        let size = Int(info.st_size)
        // A growing window from the end until it holds the line before the last newline whole.
        var window = 1 << 16
        while true {
            let start = max(0, size - window)
            var bytes = [UInt8](repeating: 0, count: size - start)
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(start)) }
            guard n == bytes.count, let newline = bytes.lastIndex(of: 0x0A) else { return nil }
            if let previous = bytes[..<newline].lastIndex(of: 0x0A) ?? (start == 0 ? -1 : nil) {
                let event = bytes.withUnsafeBufferPointer { LoggedEvent(line: UnsafeBufferPointer(rebasing: $0[(previous + 1)..<newline])) }
                return (start + newline + 1, event)
            }
            window *= 2
        }
    }

    private static func lastEvent(in segments: [EventLogFiles.Segment]) -> LoggedEvent? {
        for segment in segments.reversed() {
            if let (_, event) = lastLine(in: segment.path) { return event }
        }
        return nil
    }
}
