#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport
import HomelabCore

/// A log folder written by hand: `segments` maps a day and a first seq to the seqs it holds.
private final class LogFolder {
    private let folder = TemporaryFolder("cursor")
    var path: String { folder.path }

    func line(_ seq: Int) -> String {
        #"{"specversion":"1.0","id":"e\#(seq)","source":"test","type":"t","time":"2026-11-26T15:00:00Z","seq":\#(seq),"receivedAt":"2026-11-26T15:00:00.000Z"}"# + "\n"
    }

    func append(_ text: String, day: String, first: Int) {
        let folder = path + "/" + day
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let file = folder + "/" + String(format: "%012d.jsonl", first)
        if !FileManager.default.fileExists(atPath: file) { _ = FileManager.default.createFile(atPath: file, contents: nil) }
        let handle = FileHandle(forWritingAtPath: file)!
        handle.seekToEndOfFile()
        handle.write(Data(text.utf8))
        handle.closeFile()
    }

    func append(_ seqs: ClosedRange<Int>, day: String, first: Int) {
        append(seqs.map(line).joined(), day: day, first: first)
    }
}

@Suite(.timeLimit(.minutes(1))) struct EventLogCursorTests {
    @Test func readsAcrossSegmentsInPagesWithoutRepeats() {
        let log = LogFolder()
        log.append(1...40, day: "2026-11-26", first: 1)
        log.append(41...70, day: "2026-11-27", first: 41)
        var cursor = EventLogCursor(folder: log.path, after: 0)
        var seen: [Int] = []
        var pages = 0
        while case let page = cursor.next(maxBytes: 1000), !page.isEmpty {
            seen += page.map(\.seq)
            pages += 1
        }
        #expect(seen == Array(1...70))
        #expect(pages > 2, "1000 bytes a page is a few lines")
        #expect(cursor.seq == 70)
        log.append(71...72, day: "2026-11-27", first: 41)
        #expect(cursor.next(maxBytes: 1000).map(\.seq) == [71, 72])
    }

    @Test func startsAfterASeqInTheMiddleOfASegment() {
        let log = LogFolder()
        log.append(1...40, day: "2026-11-26", first: 1)
        log.append(41...70, day: "2026-11-27", first: 41)
        var cursor = EventLogCursor(folder: log.path, after: 45)
        #expect(cursor.next(maxBytes: 1 << 20, maxEvents: 3).map(\.seq) == [46, 47, 48])
        var middle = EventLogCursor(folder: log.path, after: 39)
        #expect(middle.next(maxBytes: 1 << 20).map(\.seq) == [40])
        #expect(middle.next(maxBytes: 1 << 20).first?.seq == 41)
        var past = EventLogCursor(folder: log.path, after: Int.max)
        #expect(past.next(maxBytes: 1 << 20).isEmpty)
    }

    @Test func aPartialLastLineWaitsUntilItIsComplete() {
        let log = LogFolder()
        log.append(1...2, day: "2026-11-26", first: 1)
        let third = log.line(3)
        log.append(String(third.prefix(30)), day: "2026-11-26", first: 1)
        var cursor = EventLogCursor(folder: log.path, after: 0)
        #expect(cursor.next(maxBytes: 1 << 20).map(\.seq) == [1, 2])
        #expect(cursor.next(maxBytes: 1 << 20).isEmpty)
        #expect(EventLogCursor(atEndOf: log.path).seq == 2)
        log.append(String(third.dropFirst(30)), day: "2026-11-26", first: 1)
        #expect(cursor.next(maxBytes: 1 << 20).map(\.seq) == [3])
    }

    @Test func theEndIsTheLastCompleteLine() {
        let log = LogFolder()
        #expect(EventLogCursor(atEndOf: log.path).seq == 0)
        #expect(EventLogCursor.lastEvent(in: log.path)?.seq == nil)
        log.append(1...5, day: "2026-11-26", first: 1)
        log.append("", day: "2026-11-27", first: 6)  // a segment just created, still empty
        var end = EventLogCursor(atEndOf: log.path)
        #expect(end.seq == 5)
        #expect(EventLogCursor.lastEvent(in: log.path)?.seq == 5)
        log.append(6...7, day: "2026-11-27", first: 6)
        #expect(end.next(maxBytes: 1 << 20).map(\.seq) == [6, 7])
    }

    @Test func aLineLongerThanAPageIsReadWhole() {
        let log = LogFolder()
        let long = #"{"specversion":"1.0","id":"big","source":"test","type":"t","time":"2026-11-26T15:00:00Z","data":""#
            + String(repeating: "x", count: 100_000) + #"","seq":1,"receivedAt":"2026-11-26T15:00:00.000Z"}"# + "\n"
        log.append(long + log.line(2), day: "2026-11-26", first: 1)
        var cursor = EventLogCursor(folder: log.path, after: 0)
        let first = cursor.next(maxBytes: 4096).map(\.seq)
        #expect(first.first == 1, "not held back as a partial line")
        #expect(first + cursor.next(maxBytes: 4096).map(\.seq) == [1, 2])
    }

    @Test func theCheckedReaderStopsAtALineThatIsNotAnEvent() {
        let log = LogFolder()
        log.append(log.line(1) + "not json\n" + log.line(2), day: "2026-11-26", first: 1)
        var strict = EventLogCursor(folder: log.path, after: 0)
        #expect((try? strict.nextChecked(maxBytes: 1 << 20))?.map(\.seq) == [1])
        #expect(throws: EventLogCursor.InvalidLine.self) { try strict.nextChecked(maxBytes: 1 << 20) }
        var lenient = EventLogCursor(folder: log.path, after: 0)
        #expect(lenient.next(maxBytes: 1 << 20).map(\.seq) == [1, 2])
    }
}
