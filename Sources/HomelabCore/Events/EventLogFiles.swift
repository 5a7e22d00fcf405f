#if canImport(Glibc)
import Glibc
#endif
import FSWatch

/// The event log's files as readers see them (SPEC §4.3): segments `events/YYYY-MM-DD/SEQ.jsonl`
/// named by their first seq. The observer writes them; the UI and tools read them.
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

    /// Every segment, oldest first.
    public static func segments(in folder: String) -> [Segment] {
        var found: [Segment] = []
        for day in listDirectory(folder).map(\.name).sorted() where isDay(day) {
            for file in listDirectory(folder + "/" + day).map(\.name) where file.hasSuffix(".jsonl") && file.utf8.count == 18 {
                guard let first = Int(file.prefix(12)) else { continue }
                found.append(Segment(day: day, firstSeq: first, path: folder + "/" + day + "/" + file))
            }
        }
        return found.sorted { $0.firstSeq < $1.firstSeq }
    }

    /// Splits a segment into lines, reading it in large chunks.
    public static func forEachLine(in path: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        try FileDescriptor.open(path, O_RDONLY).closeAfter { file in
            let fd = file.rawValue
            var buffer = [UInt8](repeating: 0, count: 4 << 20)
            var filled = 0
            while true {
                if filled == buffer.count { buffer.append(contentsOf: [UInt8](repeating: 0, count: buffer.count)) }
                let n = try buffer.withUnsafeMutableBytes { raw in
                    try FileDescriptor.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[filled...])) ?? 0
                }
                if n == 0 { break }
                filled += n
                var consumed = 0
                try buffer.withUnsafeBufferPointer { all in
                    while let newline = all[consumed..<filled].firstIndex(of: 0x0A) {
                        try body(UnsafeBufferPointer(rebasing: all[consumed..<newline]))
                        consumed = newline + 1
                    }
                }
                if consumed > 0 {
                    buffer.withUnsafeMutableBufferPointer { all in
                        _ = memmove(all.baseAddress!, all.baseAddress! + consumed, filled - consumed)
                    }
                    filled -= consumed
                }
            }
        }
    }

    private static func isDay(_ name: String) -> Bool {
        name.utf8.count == 10 && Timestamp.isRFC3339(name + "T00:00:00Z")
    }

    /// Events after `seq` (at most `limit`), in order, read from the segments that can hold them.
    public static func events(in folder: String, after seq: Int, limit: Int) -> [LoggedEvent] {
        let all = segments(in: folder)
        var found: [LoggedEvent] = []
        for (index, segment) in all.enumerated() {
            if index + 1 < all.count && all[index + 1].firstSeq <= seq + 1 { continue }
            struct Enough: Error {}
            do {
                try forEachLine(in: segment.path) { line in
                    guard let event = LoggedEvent(line: line), event.seq > seq else { return }
                    found.append(event)
                    if found.count >= limit { throw Enough() }
                }
            } catch {
                break
            }
        }
        return found
    }

    /// The last event in the log, read from the end of the last segment.
    public static func last(in folder: String) -> LoggedEvent? {
        guard let segment = segments(in: folder).last else { return nil }
        guard let file = try? FileDescriptor.open(segment.path, O_RDONLY) else { return nil }
        return file.closeAfter { file in
            let fd = file.rawValue
            var info = stat()
            guard fstat(fd, &info) == 0, info.st_size > 0 else { return nil }
            let count = Int(min(info.st_size, 1 << 21))
            var bytes = [UInt8](repeating: 0, count: count)
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(Int(info.st_size) - count)) }
            guard n == count, let end = bytes.lastIndex(of: 0x0A) else { return nil }
            let start = bytes[..<end].lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
            return bytes.withUnsafeBufferPointer { LoggedEvent(line: UnsafeBufferPointer(rebasing: $0[start..<end])) }
        }
    }
}
