#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// The agent's spool (SPEC §11): every event except heartbeats is appended here first and
/// leaves only once the transport acknowledged it, so restarts, crashes and partitions lose
/// nothing.
///
/// Append-only JSON Lines segments (`000000000001.jsonl`, …), one CloudEvent a line with its id
/// filled in, so a resend is the same `(source, id)` and the server de-duplicates it. The
/// hidden `.cursor` says what is acknowledged; segments wholly behind it are deleted, the last
/// one too once everything is acknowledged, so a drained spool holds only hidden files. A
/// hidden `.lock` (flock) keeps a second agent off the same spool.
///
/// Appends are group-committed: `sync()` is one `fdatasync` for everything appended since
/// the last one. Opening the spool cuts a torn last line (a `kill -9` inside `write`) off
/// before anything else is appended; its event was never acknowledged to anyone, and its
/// producer (the collector's snapshot, the agent's inbox file) is still there to say it again.
final class Spool {
    /// Where a line ends: the cursor once it is acknowledged.
    struct Position: Equatable {
        var segment: Int
        var offset: Int
    }

    /// Spooled lines read for one delivery, oldest first.
    struct Batch {
        /// The lines' bytes as read, newlines included.
        var bytes: [UInt8] = []
        /// Each line without its newline.
        var lines: [Range<Int>] = []
        /// Where each line ends.
        var ends: [Position] = []
        var count: Int { lines.count }
        var isEmpty: Bool { lines.isEmpty }
        func line(_ index: Int) -> ArraySlice<UInt8> { bytes[lines[index]] }
    }

    private struct Segment {
        let number: Int
        var size: Int
        /// How much of it is synced: only that is read for delivery ("spooled first, durably").
        var durable: Int
    }

    let folder: String
    let maxBytes: Int
    /// A new segment starts past this size, so acknowledged ones can be deleted whole.
    let segmentLimit: Int
    private var lock: ServiceLock?
    private(set) var cursor: SpoolCursor
    private var segments: [Segment] = []
    /// The last segment, open for appends.
    private var appendFile: FileDescriptor?
    /// Events spooled and not yet acknowledged.
    private(set) var depth = 0
    /// What those events are about, for reports that may go ahead of them.
    private var subjects = SpoolSubjects(unknown: 0)
    /// The segment files' size: what the cap is about.
    private(set) var bytes = 0
    private var dataUnsynced = false
    private var folderUnsynced = false
    private var cursorUnwritten = false
    /// Bytes of a torn last line cut off at opening, for the start-up log.
    private(set) var tornBytes = 0

    var cursorPath: String { folder + "/.cursor" }
    /// At or over the cap: nothing more is appended until acknowledgements make room.
    var isFull: Bool { bytes >= maxBytes }
    var gaps: Int { cursor.gaps }

    init(folder: String, maxBytes: Int) throws {
        self.folder = folder
        self.maxBytes = maxBytes
        segmentLimit = max(64 << 10, min(8 << 20, maxBytes / 8))
        lock = try ServiceLock(path: folder + "/.lock", service: "agent", root: folder)
        cursor = try SpoolCursor.read(folder + "/.cursor")
        try recover()
    }

    deinit { close() }

    func close() {
        if let file = appendFile.take() { file.close() }
        lock?.release()
        lock = nil
    }

    // MARK: Appending

    /// Appends one line (a CloudEvent and its newline) about `subject`; false, and nothing
    /// written, when the spool is full.
    func append(_ line: [UInt8], subject: String? = nil, snapshot: Bool = false) throws(SystemError) -> Bool {
        if isFull { return false }
        if appendFile == nil || segments.last!.size >= segmentLimit { try startSegment() }
        let index = segments.count - 1
        do {
            try appendFile!.writeAll(line)
        } catch {
            // No half line may stay behind to glue onto the next one.
            try? appendFile!.truncate(to: segments[index].size)
            throw error
        }
        segments[index].size += line.count
        bytes += line.count
        depth += 1
        dataUnsynced = true
        subjects.appended(subject: subject, snapshot: snapshot)
        return true
    }

    /// Whether a report about `subject` may go ahead of what waits here (`SpoolSubjects`).
    func mayGoAhead(subject: String?, snapshot: Bool) -> Bool { subjects.mayGoAhead(subject: subject, snapshot: snapshot) }

    /// Counts `count` events that were not spooled because the spool was full.
    func countGaps(_ count: Int) {
        cursor.gaps += count
        cursorUnwritten = true
    }

    /// The group commit: one `fdatasync` for what was appended since the last one (and the
    /// folder when a segment was created), and the cursor if the gaps changed.
    func sync() throws(SystemError) {
        if dataUnsynced, let fd = appendFile?.rawValue { try FileDescriptor.syncData(fd) }
        dataUnsynced = false
        if let last = segments.indices.last { segments[last].durable = segments[last].size }
        if folderUnsynced { try AtomicFile.syncFolder(folder) }
        folderUnsynced = false
        if cursorUnwritten { try writeCursor() }
    }

    private func startSegment() throws(SystemError) {
        if let file = appendFile.take() {
            if dataUnsynced { try FileDescriptor.syncData(file.rawValue) }
            file.close()
            dataUnsynced = false
            if let last = segments.indices.last { segments[last].durable = segments[last].size }
        }
        let number = segments.last.map { $0.number + 1 } ?? cursor.segment
        appendFile = try FileDescriptor.open(path(number), O_WRONLY | O_CREAT | O_APPEND, mode: 0o600)
        segments.append(Segment(number: number, size: 0, durable: 0))
        folderUnsynced = true
    }

    // MARK: Reading and acknowledging

    /// The oldest unacknowledged lines: at most `maxEvents`, and at most `maxBytes` unless
    /// the first line alone is larger (it then comes alone, for the server to refuse).
    func read(maxEvents: Int, maxBytes: Int) throws(SystemError) -> Batch {
        var batch = Batch()
        var position = Position(segment: cursor.segment, offset: cursor.offset)
        guard var index = segments.firstIndex(where: { $0.number == position.segment }) else { return batch }
        while batch.count < maxEvents {
            let segment = segments[index]
            if position.offset >= segment.durable {
                guard index + 1 < segments.count else { break }
                index += 1
                position = Position(segment: segments[index].number, offset: 0)
                continue
            }
            let room = maxBytes - batch.bytes.count
            if room <= 0 { break }
            let chunk = try withSegment(segment.number) { file throws(SystemError) in
                try file.read(at: position.offset, count: min(segment.durable - position.offset, room))
            }
            var start = 0
            while batch.count < maxEvents, let newline = chunk[start...].firstIndex(of: 0x0A) {
                let base = batch.bytes.count
                batch.bytes.append(contentsOf: chunk[start...newline])
                batch.lines.append(base..<(base + newline - start))
                position.offset += newline + 1 - start
                batch.ends.append(position)
                start = newline + 1
            }
            if start == 0 {
                // Not one whole line fits: the next one goes in a batch of its own.
                if batch.isEmpty { try readLongLine(segment.number, at: position, into: &batch) }
                break
            }
            if start < chunk.count { break }  // full
        }
        return batch
    }

    /// A line longer than a batch's byte limit, read whole on its own.
    private func readLongLine(_ number: Int, at position: Position, into batch: inout Batch) throws(SystemError) {
        let size = segments.first { $0.number == number }!.durable
        let rest = try withSegment(number) { file throws(SystemError) in try file.read(at: position.offset, count: size - position.offset) }
        guard let newline = rest.firstIndex(of: 0x0A) else { return }
        batch.bytes = Array(rest[...newline])
        batch.lines = [0..<newline]
        batch.ends = [Position(segment: number, offset: position.offset + newline + 1)]
    }

    /// The first `count` lines of `batch` are acknowledged: the cursor moves past them, and
    /// segments wholly behind it are deleted — the last one too once nothing is left.
    func acknowledge(_ batch: Batch, count: Int) throws(SystemError) {
        guard count > 0 else { return }
        let end = batch.ends[count - 1]
        cursor.segment = end.segment
        cursor.offset = end.offset
        depth -= count
        subjects.acknowledged(count)
        var doomed: [Segment] = []
        while let first = segments.first,
              first.number < cursor.segment || (first.number == cursor.segment && cursor.offset >= first.size && (segments.count > 1 || depth == 0)) {
            doomed.append(segments.removeFirst())
            if let next = segments.first {
                if cursor.segment < next.number { cursor = SpoolCursor(segment: next.number, offset: 0, gaps: cursor.gaps) }
            } else {
                cursor = SpoolCursor(segment: first.number + 1, offset: 0, gaps: cursor.gaps)
                if let file = appendFile.take() { file.close() }
                dataUnsynced = false
            }
        }
        // The cursor first: a crash between the two leaves a segment the next start deletes.
        try writeCursor()
        for segment in doomed {
            unlink(path(segment.number))
            bytes -= segment.size
        }
    }

    private func writeCursor() throws(SystemError) {
        try cursor.write(cursorPath)
        cursorUnwritten = false
    }

    // MARK: Opening

    private func recover() throws {
        var found: [Segment] = []
        for entry in listDirectory(folder) where entry.kind == .regular && entry.name.hasSuffix(".jsonl") {
            guard let number = Int(entry.name.dropLast(6)), number >= 1, entry.name == Self.name(number) else { continue }
            found.append(Segment(number: number, size: 0, durable: 0))
        }
        found.sort { $0.number < $1.number }
        // Acknowledged before a crash kept them from being deleted.
        for segment in found where segment.number < cursor.segment { unlink(path(segment.number)) }
        segments = found.filter { $0.number >= cursor.segment }
        if let first = segments.first, first.number > cursor.segment {
            cursor = SpoolCursor(segment: first.number, offset: 0, gaps: cursor.gaps)
        }
        for index in segments.indices {
            segments[index].size = try withSegment(segments[index].number) { file throws(SystemError) in try file.size() }
        }
        if let last = segments.indices.last { try cutTornLine(last) }
        for index in segments.indices { segments[index].durable = segments[index].size }
        if let first = segments.first, first.number == cursor.segment, cursor.offset > first.size {
            cursor.offset = first.size  // a cursor past a line that a power cut took back
        }
        bytes = segments.reduce(0) { $0 + $1.size }
        depth = try countLines()
        subjects = SpoolSubjects(unknown: depth)
        if depth == 0, !segments.isEmpty {
            // Everything in them is acknowledged: only the hidden files stay.
            let next = segments.last!.number + 1
            for segment in segments { unlink(path(segment.number)) }
            segments = []
            bytes = 0
            cursor = SpoolCursor(segment: next, offset: 0, gaps: cursor.gaps)
            try writeCursor()
        }
        if let last = segments.last {
            appendFile = try FileDescriptor.open(path(last.number), O_WRONLY | O_APPEND)
        }
    }

    /// A crash inside `write` can leave a torn last line: cut it off before anything else.
    private func cutTornLine(_ index: Int) throws(SystemError) {
        let segment = segments[index]
        guard segment.size > 0 else { return }
        let kept = try FileDescriptor.open(path(segment.number), O_RDWR).closeAfter { file throws(SystemError) in
            try file.cutAfterLastNewline(size: segment.size)
        }
        guard kept < segment.size else { return }
        tornBytes = segment.size - kept
        segments[index].size = kept
    }

    /// The lines after the cursor, counted a page at a time.
    private func countLines() throws(SystemError) -> Int {
        var count = 0
        for segment in segments {
            var offset = segment.number == cursor.segment ? cursor.offset : 0
            try withSegment(segment.number) { file throws(SystemError) in
                while offset < segment.size {
                    let chunk = try file.read(at: offset, count: min(256 << 10, segment.size - offset))
                    if chunk.isEmpty { break }
                    count += chunk.reduce(0) { $1 == 0x0A ? $0 + 1 : $0 }
                    offset += chunk.count
                }
            }
        }
        return count
    }

    private func withSegment<R>(_ number: Int, _ body: (borrowing FileDescriptor) throws(SystemError) -> R) throws(SystemError) -> R {
        try FileDescriptor.open(path(number), O_RDONLY).closeAfter(body)
    }

    private func path(_ number: Int) -> String { folder + "/" + Self.name(number) }

    static func name(_ number: Int) -> String {
        let digits = String(number)
        return String(repeating: "0", count: max(0, 12 - digits.count)) + digits + ".jsonl"
    }
}
