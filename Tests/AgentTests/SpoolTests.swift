#if canImport(Glibc)
import Glibc
#endif
@testable import Agent
import FSWatch
import HomelabCore
import Testing
import TestSupport

/// The spool on its own: what it keeps, what it lets go, and what survives a crash.
@Suite(.serialized, .timeLimit(.minutes(1))) struct SpoolTests {
    private func line(_ index: Int, padding: Int = 0) -> [UInt8] {
        Array(#"{"id":"e\#(index)","source":"node/n","type":"t","pad":"\#(String(repeating: "x", count: padding))"}"#.utf8) + [0x0A]
    }

    private func ids(_ batch: Spool.Batch) -> [String] {
        (0..<batch.count).map { (try? JSONParser.parse(Array(batch.line($0))))?["id"]?.string ?? "?" }
    }

    private func visible(_ folder: String) -> [String] {
        listDirectory(folder).map(\.name).filter { !$0.hasPrefix(".") }.sorted()
    }

    @Test func acknowledgedEventsLeaveAndADrainedSpoolHoldsOnlyHiddenFiles() throws {
        let folder = TemporaryFolder("spool")
        let spool = try Spool(folder: folder.path, maxBytes: 1 << 20)
        for index in 1...5 { #expect(try spool.append(line(index))) }
        #expect(try spool.read(maxEvents: 10, maxBytes: 1 << 20).isEmpty)  // nothing is read before it is durable
        try spool.sync()
        let batch = try spool.read(maxEvents: 3, maxBytes: 1 << 20)
        #expect(ids(batch) == ["e1", "e2", "e3"])
        try spool.acknowledge(batch, count: 2)
        #expect(spool.depth == 3)
        #expect(ids(try spool.read(maxEvents: 10, maxBytes: 1 << 20)) == ["e3", "e4", "e5"])
        try spool.acknowledge(try spool.read(maxEvents: 10, maxBytes: 1 << 20), count: 3)
        #expect(spool.depth == 0 && spool.bytes == 0)
        #expect(visible(folder.path) == [])
        #expect(listDirectory(folder.path).map(\.name).sorted() == [".cursor", ".lock"])
        // And on after that, in a new segment.
        #expect(try spool.append(line(6)))
        try spool.sync()
        #expect(ids(try spool.read(maxEvents: 10, maxBytes: 1 << 20)) == ["e6"])
        spool.close()
    }

    @Test func segmentsWhollyAcknowledgedAreDeletedAndABatchRespectsItsLimits() throws {
        let folder = TemporaryFolder("spool")
        let spool = try Spool(folder: folder.path, maxBytes: 1 << 20)  // 128 KiB segments
        for index in 1...300 { #expect(try spool.append(line(index, padding: 1000))) }
        try spool.sync()
        #expect(visible(folder.path).count == 3)
        let byCount = try spool.read(maxEvents: 7, maxBytes: 1 << 20)
        #expect(byCount.count == 7)
        let byBytes = try spool.read(maxEvents: 1000, maxBytes: 10_000)
        #expect(byBytes.count == 9 && byBytes.bytes.count <= 10_000)
        let all = try spool.read(maxEvents: 1000, maxBytes: 1 << 20)
        #expect(ids(all) == (1...300).map { "e\($0)" })  // across segments
        try spool.acknowledge(all, count: 150)
        #expect(visible(folder.path).count == 2)
        try spool.acknowledge(try spool.read(maxEvents: 1000, maxBytes: 1 << 20), count: 150)
        #expect(visible(folder.path) == [])
        spool.close()
    }

    @Test func aLineLargerThanABatchComesAlone() throws {
        let folder = TemporaryFolder("spool")
        let spool = try Spool(folder: folder.path, maxBytes: 1 << 20)
        _ = try spool.append(line(1, padding: 5000))
        _ = try spool.append(line(2))
        try spool.sync()
        let batch = try spool.read(maxEvents: 10, maxBytes: 1000)
        #expect(ids(batch) == ["e1"])
        try spool.acknowledge(batch, count: 1)
        #expect(ids(try spool.read(maxEvents: 10, maxBytes: 1000)) == ["e2"])
        spool.close()
    }

    @Test func aRestartKeepsWhatIsNotAcknowledgedAndTheGaps() throws {
        let folder = TemporaryFolder("spool")
        var spool = try Spool(folder: folder.path, maxBytes: 1 << 20)
        for index in 1...4 { _ = try spool.append(line(index)) }
        spool.countGaps(7)
        try spool.sync()
        try spool.acknowledge(try spool.read(maxEvents: 1, maxBytes: 1 << 20), count: 1)
        spool.close()

        spool = try Spool(folder: folder.path, maxBytes: 1 << 20)
        #expect(spool.depth == 3)
        #expect(spool.gaps == 7)
        #expect(ids(try spool.read(maxEvents: 10, maxBytes: 1 << 20)) == ["e2", "e3", "e4"])
        spool.close()
    }

    @Test func aTornLastLineIsCutOffOnReopening() throws {
        let folder = TemporaryFolder("spool")
        var spool = try Spool(folder: folder.path, maxBytes: 1 << 20)
        _ = try spool.append(line(1))
        _ = try spool.append(line(2))
        try spool.sync()
        spool.close()
        // What a kill -9 inside write leaves: half a line.
        let segment = folder.path + "/" + Spool.name(1)
        let fd = open(segment, O_WRONLY | O_APPEND)
        _ = line(3).withUnsafeBytes { write(fd, $0.baseAddress, 20) }
        close(fd)

        spool = try Spool(folder: folder.path, maxBytes: 1 << 20)
        #expect(spool.tornBytes == 20)
        #expect(spool.depth == 2)
        _ = try spool.append(line(4))
        try spool.sync()
        #expect(ids(try spool.read(maxEvents: 10, maxBytes: 1 << 20)) == ["e1", "e2", "e4"])
        spool.close()
    }

    @Test func aFullSpoolRefusesUntilAcknowledgementsMakeRoom() throws {
        let folder = TemporaryFolder("spool")
        let spool = try Spool(folder: folder.path, maxBytes: 64 << 10)
        var appended = 0
        while try spool.append(line(appended, padding: 1000)) { appended += 1 }
        #expect(spool.isFull)
        #expect(appended > 50 && spool.bytes >= 64 << 10 && spool.bytes < (64 << 10) + 1100)
        try spool.sync()
        try spool.acknowledge(try spool.read(maxEvents: 1000, maxBytes: 1 << 20), count: appended)
        #expect(!spool.isFull)
        #expect(try spool.append(line(999)))
        spool.close()
    }

    @Test func twoAgentsNeverShareASpool() throws {
        let folder = TemporaryFolder("spool")
        let spool = try Spool(folder: folder.path, maxBytes: 1 << 20)
        #expect(throws: ServiceLockError.self) { _ = try Spool(folder: folder.path, maxBytes: 1 << 20) }
        spool.close()
        try Spool(folder: folder.path, maxBytes: 1 << 20).close()
    }

    @Test func acknowledgedSegmentsLeftByACrashGoAtTheNextStart() throws {
        let folder = TemporaryFolder("spool")
        var spool = try Spool(folder: folder.path, maxBytes: 1 << 20)
        _ = try spool.append(line(1))
        try spool.sync()
        spool.close()
        // The cursor says segment 1 is done; the crash came before its unlink.
        try SpoolCursor(segment: 2, offset: 0, gaps: 3).write(folder.path + "/.cursor")
        spool = try Spool(folder: folder.path, maxBytes: 1 << 20)
        #expect(spool.depth == 0)
        #expect(visible(folder.path) == [])
        #expect(spool.gaps == 3)
        spool.close()
    }
}
