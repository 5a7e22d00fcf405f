#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport
import HomelabCore
@testable import Observer

private func batch(_ seqs: ClosedRange<Int>, receivedAt: String) -> [UInt8] {
    seqs.flatMap { seq in
        LoggedEvent(seq: seq, id: "id-\(seq)", source: "test", type: "t", subject: nil, time: receivedAt, receivedAt: receivedAt, data: nil).line
    }
}

@Suite(.timeLimit(.minutes(2))) struct EventLogTests {
    @Test func appendsRecoversAndReadsBack() throws {
        let temporary = TemporaryFolder("eventlog")
        let folder = temporary.path
        do {
            let log = try EventLog(folder: folder)
            #expect(log.lastSeq == 0)
            try log.append(batch(1...3, receivedAt: "2026-11-26T10:00:00.000Z"), firstSeq: 1, count: 3, day: "2026-11-26")
            try log.append(batch(4...5, receivedAt: "2026-11-27T00:00:00.001Z"), firstSeq: 4, count: 2, day: "2026-11-27")
        }
        #expect(FileManager.default.fileExists(atPath: folder + "/2026-11-26/000000000001.jsonl"))
        #expect(FileManager.default.fileExists(atPath: folder + "/2026-11-27/000000000004.jsonl"))
        let reopened = try EventLog(folder: folder)
        #expect(reopened.lastSeq == 5)
        var seen: [Int] = []
        try reopened.forEachEvent(after: 2) { seen.append($0.seq) }
        #expect(seen == [3, 4, 5])
        try reopened.append(batch(6...6, receivedAt: "2026-11-27T00:00:01.000Z"), firstSeq: 6, count: 1, day: "2026-11-27")
        #expect(try String(contentsOfFile: folder + "/2026-11-27/000000000004.jsonl", encoding: .utf8).split(separator: "\n").count == 3)
    }

    /// Lines written before `receivedat` was fixed say `receivedAt`: recovery and replay read both.
    @Test func readsOldLinesThenNewOnes() throws {
        let temporary = TemporaryFolder("eventlog")
        let folder = temporary.path
        mkdir(folder + "/2026-11-26", 0o755)
        let old = (1...2).map { #"{"specversion":"1.0","id":"id-\#($0)","source":"test","type":"t","time":"2026-11-26T10:00:00.000Z","seq":\#($0),"receivedAt":"2026-11-26T10:00:00.000Z"}"# + "\n" }
        try old.joined().write(toFile: folder + "/2026-11-26/000000000001.jsonl", atomically: false, encoding: .utf8)
        do {
            let log = try EventLog(folder: folder)
            #expect(log.lastSeq == 2)
            try log.append(batch(3...4, receivedAt: "2026-11-26T10:00:01.000Z"), firstSeq: 3, count: 2, day: "2026-11-26")
        }
        let reopened = try EventLog(folder: folder)
        #expect(reopened.lastSeq == 4)
        var seen: [(Int, String)] = []
        try reopened.forEachEvent(after: 0) { seen.append(($0.seq, $0.receivedAt)) }
        #expect(seen.map(\.0) == [1, 2, 3, 4])
        #expect(seen.map(\.1) == ["2026-11-26T10:00:00.000Z", "2026-11-26T10:00:00.000Z", "2026-11-26T10:00:01.000Z", "2026-11-26T10:00:01.000Z"])
        let text = try String(contentsOfFile: folder + "/2026-11-26/000000000001.jsonl", encoding: .utf8)
        #expect(text.split(separator: "\n").last?.hasSuffix(#""seq":4,"receivedat":"2026-11-26T10:00:01.000Z"}"#) == true)
    }

    @Test func cutsATornLastLineBeforeAppending() throws {
        let temporary = TemporaryFolder("eventlog")
        let folder = temporary.path
        do {
            let log = try EventLog(folder: folder)
            try log.append(batch(1...2, receivedAt: "2026-11-26T10:00:00.000Z"), firstSeq: 1, count: 2, day: "2026-11-26")
        }
        let segment = folder + "/2026-11-26/000000000001.jsonl"
        let handle = FileHandle(forWritingAtPath: segment)!
        handle.seekToEndOfFile()
        handle.write(Data(#"{"specversion":"1.0","id":"id-3","sou"#.utf8))
        handle.closeFile()
        let log = try EventLog(folder: folder)
        #expect(log.tornBytes == 37)
        #expect(log.lastSeq == 2)
        try log.append(batch(3...3, receivedAt: "2026-11-26T10:00:01.000Z"), firstSeq: 3, count: 1, day: "2026-11-26")
        var seqs: [Int] = []
        try log.forEachEvent(after: 0) { seqs.append($0.seq) }
        #expect(seqs == [1, 2, 3])
    }

    @Test func aGapInTheLogStopsTheReplayWithAClearError() throws {
        let temporary = TemporaryFolder("eventlog")
        let folder = temporary.path
        try FileManager.default.createDirectory(atPath: folder + "/2026-11-26", withIntermediateDirectories: true)
        let lines = batch(1...2, receivedAt: "2026-11-26T10:00:00.000Z") + batch(4...4, receivedAt: "2026-11-26T10:00:00.000Z")
        try Data(lines).write(to: URL(fileURLWithPath: folder + "/2026-11-26/000000000001.jsonl"))
        let log = try EventLog(folder: folder)
        #expect { try log.forEachEvent(after: 0) { _ in } } throws: { ($0 as? LogError)?.code == .seqOutOfOrder }
    }

    @Test func aLastLineThatIsNotAnEventRefusesToOpenTheLog() throws {
        let temporary = TemporaryFolder("eventlog")
        let folder = temporary.path
        try FileManager.default.createDirectory(atPath: folder + "/2026-11-26", withIntermediateDirectories: true)
        let lines = batch(1...2, receivedAt: "2026-11-26T10:00:00.000Z") + Array("{\"not\": \"an event\"}\n".utf8)
        try Data(lines).write(to: URL(fileURLWithPath: folder + "/2026-11-26/000000000001.jsonl"))
        #expect { try EventLog(folder: folder) } throws: { error in
            (error as? LogError)?.code == .notAnEvent && "\(error)".hasSuffix("000000000001.jsonl: the last line is not a log event")
        }
    }
}
