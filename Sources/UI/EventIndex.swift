#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// A sparse seq → byte offset index of the event log, per segment, in memory: every
/// `spacing`-th line's seq and where it starts. `/api/events?after=N` then seeks near N and
/// reads at most `spacing` lines before the first it returns, instead of reading the segment
/// from its start (a segment holds up to tens of thousands of events). Built lazily: a segment
/// is scanned once, the growing one only over what was appended since.
final class EventIndex {
    struct Mark {
        let seq: Int
        let offset: Int
    }

    private struct SegmentIndex {
        var marks: [Mark] = []
        /// Bytes of the segment indexed so far (always a line boundary).
        var scanned = 0
        var linesSinceMark = Int.max
    }

    static let spacing = 32
    let folder: String
    private var segments: [String: SegmentIndex] = [:]

    init(folder: String) { self.folder = folder }

    /// The first seq the log still holds (retention removes segments from its start); nil for
    /// an empty log.
    var oldestSeq: Int? { EventLogFiles.segments(in: folder).first?.firstSeq }

    /// A cursor before the first event above `seq`, placed by the index.
    func cursor(after seq: Int) -> EventLogCursor {
        let all = EventLogFiles.segments(in: folder)
        // The last segment that can hold seq + 1, written so that Int.max cannot overflow.
        guard let segment = all.last(where: { $0.firstSeq - 1 <= seq }) else { return EventLogCursor(folder: folder, after: seq) }
        if segments.count > all.count {
            // Segments removed by retention: forget them.
            let current = Set(all.map(\.path))
            segments = segments.filter { current.contains($0.key) }
        }
        let index = extend(segment.path)
        // The last mark at or before seq + 1: its line is where seq + 1 can start at the earliest.
        var low = 0, high = index.marks.count
        while low < high {
            let mid = (low + high) / 2
            if index.marks[mid].seq - 1 <= seq { low = mid + 1 } else { high = mid }
        }
        let offset = low == 0 ? 0 : index.marks[low - 1].offset
        return EventLogCursor(folder: folder, segment: segment, offset: offset, after: seq)
    }

    /// Indexes what was appended to the segment since the last look.
    private func extend(_ path: String) -> SegmentIndex {
        var index = segments[path] ?? SegmentIndex()
        defer { segments[path] = index }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return index }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return index }
        let size = Int(info.st_size)
        if size < index.scanned { index = SegmentIndex() }  // rewritten shorter: start over
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while index.scanned < size {
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, min($0.count, size - index.scanned), off_t(index.scanned)) }
            guard n > 0 else { break }
            var consumed = 0
            chunk.withUnsafeBufferPointer { bytes in
                var start = 0
                while let newline = bytes[start..<n].firstIndex(of: 0x0A) {
                    if index.linesSinceMark >= Self.spacing,
                       let event = LoggedEvent(line: UnsafeBufferPointer(rebasing: bytes[start..<newline])) {
                        index.marks.append(Mark(seq: event.seq, offset: index.scanned + start))
                        index.linesSinceMark = 0
                    }
                    index.linesSinceMark &+= 1
                    start = newline + 1
                }
                consumed = start
            }
            if consumed == 0 {
                // No line ends in this chunk: a line longer than it, or one still being written.
                if n < chunk.count { break }
                chunk += [UInt8](repeating: 0, count: chunk.count)
                continue
            }
            index.scanned += consumed
        }
        return index
    }
}
