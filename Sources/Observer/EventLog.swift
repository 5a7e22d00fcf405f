#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// The append-only event log (SPEC §4.3): JSON Lines segments `events/YYYY-MM-DD/SEQ.jsonl`,
/// each named by the 12-digit seq of its first line. The observer is its only writer.
///
/// Opening the log recovers it: a torn last line (a crash inside `write`) is cut off before
/// anything else is appended. (Inbox files whose lines made it into the log before a crash
/// are not logged twice: `SeenEvents` knows their keys.)
final class EventLog {
    typealias Segment = EventLogFiles.Segment

    static let segmentLimit = 64 << 20

    let folder: String
    private(set) var lastSeq = 0
    /// Bytes cut off the end when the log was opened (a torn line), for the start-up log.
    private(set) var tornBytes = 0

    /// The segment being appended to.
    private var file: FileDescriptor?
    private var current: Segment?
    private var currentSize = 0

    init(folder: String) throws {
        self.folder = folder
        try recover()
    }

    deinit { closeSegment() }

    private func closeSegment() {
        if let file = file.take() { file.close() }
    }

    // MARK: Appending

    /// Appends the lines of one batch (`firstSeq` onwards, received on `day`) with one
    /// `write`; `sync()` then makes them durable. A new segment starts on a new day or past
    /// the size limit, only ever at a batch boundary.
    func append(_ lines: [UInt8], firstSeq: Int, count: Int, day: String) throws(SystemError) {
        precondition(firstSeq == lastSeq + 1, "seq \(firstSeq) does not follow \(lastSeq)")
        if file == nil || current?.day != day || currentSize >= EventLog.segmentLimit {
            try startSegment(day: day, firstSeq: firstSeq)
        }
        try file!.writeAll(lines)
        currentSize += lines.count
        lastSeq = firstSeq + count - 1
    }

    /// The group commit: one `fdatasync` for everything appended since the last one.
    func sync() throws(SystemError) {
        if let fd = file?.rawValue { try FileDescriptor.syncData(fd) }
    }

    private func startSegment(day: String, firstSeq: Int) throws(SystemError) {
        closeSegment()
        let dayFolder = folder + "/" + day
        if mkdir(dayFolder, 0o755) == 0 {
            try AtomicFile.syncFolder(folder)
        } else if Errno.current != .fileExists {
            throw SystemError("mkdir", Errno.current, subject: dayFolder)
        }
        let path = dayFolder + "/" + EventLog.segmentName(firstSeq)
        file = try FileDescriptor.open(path, O_WRONLY | O_CREAT | O_APPEND, mode: 0o644)
        try AtomicFile.syncFolder(dayFolder)
        current = Segment(day: day, firstSeq: firstSeq, path: path)
        currentSize = 0
    }

    static func segmentName(_ firstSeq: Int) -> String {
        let digits = String(firstSeq)
        return String(repeating: "0", count: max(0, 12 - digits.count)) + digits + ".jsonl"
    }

    // MARK: Retention

    /// The first seq the log still holds (retention removes whole segments from its start).
    var firstSeq: Int { EventLogFiles.segments(in: folder).first?.firstSeq ?? lastSeq + 1 }

    /// Removes the segments that are all of: on a day before `beforeDay`, wholly at or below
    /// `coveredSeq` (a snapshot holds their fold), and wholly below `keepFromSeq` (what the
    /// de-duplication window reads back). The segment being appended to always stays. Empty
    /// day folders go too. Returns the segments removed.
    func removeSegments(beforeDay: String, coveredSeq: Int, keepFromSeq: Int) throws(SystemError) -> [Segment] {
        let all = EventLogFiles.segments(in: folder)
        var removed: [Segment] = []
        for (index, segment) in all.enumerated().dropLast() {
            let lastSeq = all[index + 1].firstSeq - 1
            guard segment.day < beforeDay, lastSeq <= coveredSeq, lastSeq < keepFromSeq, segment.path != current?.path else { break }
            if unlink(segment.path) != 0 && Errno.current != .noSuchFile { throw SystemError("unlink", Errno.current, subject: segment.path) }
            removed.append(segment)
        }
        guard !removed.isEmpty else { return [] }
        var touched: Set<String> = []
        for segment in removed where touched.insert(segment.day).inserted {
            let dayFolder = folder + "/" + segment.day
            try AtomicFile.syncFolder(dayFolder)
            rmdir(dayFolder)  // only when empty
        }
        try AtomicFile.syncFolder(folder)
        return removed
    }

    // MARK: Reading

    /// Calls `body` with every event after `seq`, in order. A seq out of order means the log
    /// was tampered with; that stops the observer rather than folding a wrong world.
    func forEachEvent(after seq: Int, _ body: (LoggedEvent) -> Void) throws {
        var cursor = EventLogCursor(folder: folder, after: seq)
        var expected = seq + 1
        while true {
            let events: [LoggedEvent]
            do {
                events = try cursor.nextChecked(maxBytes: 256 << 10)  // a page at a time: a rebuild's memory stays flat
            } catch {
                throw LogError(.notAnEvent, "\(error.path): a line that is not a log event near seq \(expected)")
            }
            if events.isEmpty { return }
            for event in events {
                guard event.seq == expected else {
                    throw LogError(.seqOutOfOrder, "\(cursor.segmentPath ?? folder): seq \(event.seq) where \(expected) was expected")
                }
                body(event)
                expected += 1
            }
        }
    }

    /// A rebuild's reader: every line after `seq`, in order, as bytes, read a megabyte at a
    /// time straight from the segments (no event is built unless the caller parses one).
    /// Seqs are checked as `forEachEvent` checks them.
    func forEachLine(after seq: Int, _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Void) throws {
        let all = EventLogFiles.segments(in: folder)
        let start = all.lastIndex { $0.firstSeq - 1 <= seq } ?? 0
        var expected = seq + 1
        for segment in all[start...] {
            try FileDescriptor.open(segment.path, O_RDONLY).closeAfter { file in
                var buffer = [UInt8](repeating: 0, count: 1 << 20)
                var kept = 0, offset = 0
                while true {
                    if kept == buffer.count { buffer += [UInt8](repeating: 0, count: buffer.count) }
                    let n = try systemCall("pread", segment.path) {
                        buffer.withUnsafeMutableBytes { pread(file.rawValue, $0.baseAddress! + kept, $0.count - kept, off_t(offset)) }
                    }
                    if n == 0 { return }
                    offset += n
                    let end = kept + n
                    var lineStart = 0
                    try buffer.withUnsafeBufferPointer { bytes in
                        while let newline = EventLogFiles.newline(in: bytes, from: lineStart, to: end) {
                            let line = UnsafeBufferPointer(rebasing: bytes[lineStart..<newline])
                            lineStart = newline + 1
                            guard let lineSeq = LogLineFields.seqOf(line) ?? LoggedEvent(line: line)?.seq else {
                                throw LogError(.notAnEvent, "\(segment.path): a line that is not a log event near seq \(expected)")
                            }
                            if lineSeq < expected && lineSeq <= seq { continue }  // before the start, in the first segment
                            guard lineSeq == expected else {
                                throw LogError(.seqOutOfOrder, "\(segment.path): seq \(lineSeq) where \(expected) was expected")
                            }
                            try body(line, lineSeq)
                            expected += 1
                        }
                    }
                    kept = end - lineStart
                    if kept > 0 && lineStart > 0 { buffer.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: $0.baseAddress! + lineStart, count: kept) } }
                }
            }
        }
    }

    // MARK: Recovery

    private func recover() throws {
        guard let last = EventLogFiles.segments(in: folder).last else { return }
        let size = try FileDescriptor.open(last.path, O_RDWR).closeAfter { file in try recover(last, file) }
        // Continue appending to the last segment.
        file = try FileDescriptor.open(last.path, O_WRONLY | O_APPEND)
        current = last
        currentSize = size
    }

    /// Cuts a torn last line off `last` and reads its last seq; returns its new size.
    private func recover(_ last: Segment, _ file: borrowing FileDescriptor) throws -> Int {
        // A crash inside `write` can leave a torn last line: cut it off before anything else.
        let size = try file.size()
        let kept = try file.cutAfterLastNewline(size: size)
        tornBytes = size - kept

        lastSeq = last.firstSeq - 1
        if kept > 0 {
            guard let (_, event) = EventLogCursor.lastLine(of: file.rawValue), let event else {
                throw LogError(.notAnEvent, "\(last.path): the last line is not a log event")
            }
            lastSeq = event.seq
        }
        return kept
    }
}

/// The log's own bytes are wrong (no errno: the kernel did its part), naming the segment.
struct LogError: Error, CustomStringConvertible {
    enum Code { case notAnEvent, seqOutOfOrder }
    let code: Code
    let description: String
    init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}
