#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport
import FSWatch
import HomelabCore
@testable import Observer

/// An observer with the settings of docs/observer.md's "Years of operation" under test.
final class YearsFixture: ServiceFixture {
    var observer: ObserverService!
    var environment: [String: String] = ["HOMELAB_SNAPSHOT_EVENTS": "25", "HOMELAB_MIN_FREE_MB": "0"]
    var windowMinKeys = SeenEvents.minKeys
    private var count = 0

    init() throws { try super.init("years") }

    deinit { observer?.shutdown() }

    var settings: Configuration {
        var env = ["HOMELAB_ROOT": root.path, "HOMELAB_REPO": repo, "HOMELAB_HEARTBEAT_SECONDS": "3600"]
        env.merge(environment) { $1 }
        return try! Configuration(environment: env)
    }

    func start() throws {
        observer = ObserverService(configuration: settings, logger: logger("observer"))
        observer.windowMinKeys = windowMinKeys
        try observer.start(on: reactor)
    }

    /// Stopped observers, kept until the fixture goes: work they queued on the loop may still run.
    private var stopped: [ObserverService] = []

    func restart(removing paths: [String] = []) throws {
        observer.shutdown()
        stopped.append(observer)
        for path in paths { unlink(path) }
        try start()
    }

    func drop(_ type: String, _ subject: String, data: String = "{}", time: String? = nil, folder: String? = nil) {
        count += 1
        let folder = folder ?? root.inbox
        let timeField = time.map { #","time":"\#($0)""# } ?? ""
        let text = #"{"type":"\#(type)","source":"node/test","id":"y\#(count)","subject":"\#(subject)","data":\#(data)\#(timeField)}"#
        writeFile(folder + "/.y\(count).tmp", text)
        rename(folder + "/.y\(count).tmp", folder + "/y\(count).json")
    }

    var seq: Int { WorldIndex.read(root.worldIndex)?.seq ?? 0 }
    var logLines: [[String: Any]] {
        EventLogFiles.segments(in: root.events).flatMap { segment in
            (try? String(contentsOfFile: segment.path, encoding: .utf8))?.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            } ?? []
        }
    }
    var snapshots: [(seq: Int, path: String)] { WorldSnapshot.list(in: root.snapshots) }

    /// Every world file's bytes by path (hidden spares left out).
    func worldBytes() -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        forEachFile(under: root.world) { path, name in
            if !name.hasPrefix(".") { files[path] = FileContents.read(path) }
        }
        return files
    }

    /// A varied history: upserts, removals, prefix snapshots, actions through audit/.
    func dropHistory(_ n: Int) {
        for i in 0..<n {
            switch i % 7 {
            case 0, 1, 2: drop("resource.observed", "container/nas/c\(i % 11)", data: #"{"state":"running","n":\#(i)}"#)
            case 3: drop("resource.removed", "container/nas/c\((i * 3) % 11)")
            case 4: drop("resource.snapshot", "container/pi", data: #"{"resources":{"pi/a":{"n":\#(i)},"pi/b\#(i % 3)":{}}}"#)
            case 5: drop("action.proposed", "action/a\(i % 4)", data: #"{"actor":"supervisor"}"#, folder: root.audit)
            default: drop("node.custom", "node/nas")
            }
        }
    }
}

@Suite(.serialized, .timeLimit(.minutes(2))) struct YearsOfOperationTests {
    @Test func aRebuildFromTheNewestSnapshotWritesTheSameBytesAsAFullReplay() throws {
        let fixture = try YearsFixture()
        try fixture.start()
        for chunk in 1...4 {
            fixture.dropHistory(30)
            #expect(try fixture.turn { fixture.seq == 30 * chunk })
        }
        #expect(fixture.snapshots.map(\.seq) == [120, 90])  // every 25 events or more, the newest two kept
        let live = fixture.worldBytes()
        #expect(live.count > 5)

        try fixture.restart(removing: [fixture.root.observerCheckpoint])  // from the newest snapshot
        #expect(fixture.worldBytes() == live)
        let newest = try #require(fixture.snapshots.first)
        // The newest snapshot torn (as by hand: a write is atomic), and a kill -9's temporary beside it.
        let bytes = try #require(FileContents.read(newest.path))
        try AtomicFile.write(Array(bytes.prefix(bytes.count / 2)), to: newest.path, durability: .none)
        writeFile(fixture.root.snapshots + "/.000000000125.jsonl.999.tmp", "{\"snapshot\":1")
        try fixture.restart(removing: [fixture.root.observerCheckpoint])  // from the older one
        #expect(fixture.worldBytes() == live)
        #expect(!listDirectory(fixture.root.snapshots).contains { $0.name.hasPrefix(".") })

        for snapshot in fixture.snapshots { unlink(snapshot.path) }
        try fixture.restart(removing: [fixture.root.observerCheckpoint])  // the whole log
        #expect(fixture.worldBytes() == live)
    }

    @Test func retentionRemovesOnlyOldSegmentsASnapshotCovers() throws {
        let fixture = try YearsFixture()
        fixture.environment["HOMELAB_RETENTION_DAYS"] = "30"
        fixture.environment["HOMELAB_SNAPSHOT_EVENTS"] = "1000"
        fixture.windowMinKeys = 10
        // A log of four days written as segments: 200, 100 and 20 days ago, and yesterday.
        let now = Timestamp.now().secondsSinceEpoch
        var seq = 0
        for daysAgo in [200, 100, 20, 1] {
            let stamp = Timestamp(secondsSinceEpoch: now - Int64(daysAgo) * 86_400)
            let day = stamp.day
            makeFolder(fixture.root.eventDay(day))
            var lines: [UInt8] = []
            let first = seq + 1
            for _ in 0..<10 {
                seq += 1
                lines += LoggedEvent(seq: seq, id: "old\(seq)", source: "node/test", type: "resource.observed", subject: "container/nas/c\(seq % 4)",
                                     time: stamp.iso8601Milliseconds, receivedAt: stamp.iso8601Milliseconds, data: .object(["n": .int(seq)])).line
            }
            #expect(FileManager.default.createFile(atPath: fixture.root.eventDay(day) + "/" + EventLog.segmentName(first), contents: Data(lines)))
        }
        try fixture.start()
        #expect(EventLogFiles.segments(in: fixture.root.events).count == 4)  // no snapshot yet: nothing covered
        fixture.drop("resource.observed", "container/nas/new")
        #expect(try fixture.turn { fixture.seq == 41 && fixture.snapshots.count == 1 })
        // 200 and 100 days ago are gone; 20 days ago is within retention; today's stays.
        let kept = EventLogFiles.segments(in: fixture.root.events)
        #expect(kept.map(\.firstSeq) == [21, 31, 41])
        #expect(fixture.observer.log.firstSeq == 21)
        let live = fixture.worldBytes()
        try fixture.restart(removing: [fixture.root.observerCheckpoint])
        #expect(fixture.worldBytes() == live)
        // Without the snapshot nothing can rebuild the world: the observer says so, and stops.
        for snapshot in fixture.snapshots { unlink(snapshot.path) }
        #expect(throws: (any Error).self) { try fixture.restart(removing: [fixture.root.observerCheckpoint]) }
    }

    @Test func heartbeatsAreThinnedToOneAMinuteAndLastSeenStaysExact() throws {
        let fixture = try YearsFixture()
        try fixture.start()
        let base = Timestamp.now().secondsSinceEpoch
        func time(_ i: Int) -> String { Timestamp(secondsSinceEpoch: base + Int64(i)).iso8601Milliseconds }
        fixture.drop("node.heartbeat", "node/nas", time: time(0))  // logged: it makes the node
        #expect(try fixture.turn { fixture.seq == 1 })
        for i in 1..<6 { fixture.drop("node.heartbeat", "node/nas", time: time(i)) }
        #expect(try fixture.turn { fixture.observer.statusDetails["counters"]?["heartbeatsThinned"]?.int == 5 })
        let node = try #require(WorldResource.read(fixture.root.worldFile(Subject(kind: "node", name: "nas"))))
        #expect(node.1.lastSeen == time(5))  // every heartbeat moves lastSeen
        #expect(fixture.logLines.filter { $0["type"] as? String == "node.heartbeat" }.count == 1)
        #expect(Checkpoint.read(fixture.root.observerCheckpoint)?.loggedLastSeen == ["node/nas": time(0)])
        // A restart keeps the newer lastSeen; the snapshot holds the fold of the log alone.
        try fixture.restart()
        #expect(WorldResource.read(fixture.root.worldFile(Subject(kind: "node", name: "nas")))?.1.lastSeen == time(5))
        fixture.observer.writeSnapshot()
        let snapshot = try #require(fixture.snapshots.first.flatMap { WorldSnapshot.read($0.path) })
        #expect(snapshot.resources.first { $0.subject.kind == "node" }?.resource.lastSeen == time(0))
        // A rebuild (the checkpoint deleted) gives world/ the same bytes: the log's fold, then
        // the lastSeen state/thinned_heartbeats.json keeps.
        let before = fixture.worldBytes()
        try fixture.restart(removing: [fixture.root.observerCheckpoint])
        #expect(fixture.worldBytes() == before)
        #expect(WorldResource.read(fixture.root.worldFile(Subject(kind: "node", name: "nas")))?.1.lastSeen == time(5))
        // Any logged event about the node makes the log speak for it again.
        fixture.drop("resource.observed", "node/nas", data: #"{"os":"linux"}"#, time: time(9))
        #expect(try fixture.turn { fixture.seq == 2 })
        #expect(Checkpoint.read(fixture.root.observerCheckpoint)?.loggedLastSeen == [:])
        let spoken = fixture.worldBytes()
        try fixture.restart(removing: [fixture.root.observerCheckpoint])
        #expect(fixture.worldBytes() == spoken)
        #expect(WorldResource.read(fixture.root.worldFile(Subject(kind: "node", name: "nas")))?.1.lastSeen == time(9))
    }

    @Test func takenFilesGoToTheProcessedFolderAndAreSweptWhenIdle() throws {
        let fixture = try YearsFixture()
        try fixture.start()
        fixture.dropHistory(30)
        #expect(try fixture.turn { fixture.seq == 30 })
        #expect(visible(fixture.root.inbox).isEmpty)
        #expect(try fixture.turn(until: { listDirectory(fixture.root.inbox + "/.done").isEmpty && listDirectory(fixture.root.audit + "/.done").isEmpty },
                                 timeout: .seconds(5)))
        // Left there by a crash: logged, so swept after the restart, never taken again.
        writeFile(fixture.root.inbox + "/.done/y1.json", #"{"type":"x.y","source":"node/test","id":"zz"}"#)
        try fixture.restart()
        #expect(try fixture.turn(until: { listDirectory(fixture.root.inbox + "/.done").isEmpty }, timeout: .seconds(5)))
        #expect(fixture.seq == 30)
    }

    /// A year of log, generated as segments (a heartbeat per node an hour and a container
    /// report every four), rebuilt within a rate the debug build can show; the release
    /// figure is bench/observer.sh's.
    @Test func aYearOfSyntheticLogRebuildsAndRetentionKeepsTheLastNinetyDays() throws {
        let fixture = try YearsFixture()
        fixture.environment["HOMELAB_SNAPSHOT_EVENTS"] = "1000000"
        fixture.windowMinKeys = 1000
        let now = Timestamp.now().secondsSinceEpoch
        let today = now - now % 86_400
        var seq = 0
        var lastSeen: [String: String] = [:]
        for day in (1...365).reversed() {
            let start = today - Int64(day) * 86_400
            let name = Timestamp(secondsSinceEpoch: start).day
            makeFolder(fixture.root.eventDay(name))
            var lines: [UInt8] = []
            lines.reserveCapacity(30_000)
            let first = seq + 1
            for slot in 0..<24 {
                let stamp = Timestamp(secondsSinceEpoch: start + Int64(slot) * 3600).iso8601Milliseconds
                for node in ["nas", "pi", "vps"] {
                    seq += 1
                    lines += LoggedEvent(seq: seq, id: "\(node)-\(seq)", source: "node/\(node)", type: "node.heartbeat", subject: "node/\(node)",
                                         time: stamp, receivedAt: stamp, data: nil).line
                    lastSeen[node] = stamp
                }
                if slot % 4 == 0 {
                    seq += 1
                    lines += LoggedEvent(seq: seq, id: "c-\(seq)", source: "node/nas", type: "resource.observed", subject: "container/nas/c\(slot % 8)",
                                         time: stamp, receivedAt: stamp, data: .object(["state": .string("running"), "n": .int(seq)])).line
                }
            }
            #expect(FileManager.default.createFile(atPath: fixture.root.eventDay(name) + "/" + EventLog.segmentName(first), contents: Data(lines)))
        }
        let started = MonotonicTime.now()
        try fixture.start()
        let seconds = Double((MonotonicTime.now() - started).milliseconds) / 1000
        print("a year of synthetic log: \(seq) events rebuilt in \(seconds) s = \(Int(Double(seq) / seconds)) events/s (debug build)")
        #expect(seconds < 60)
        #expect(fixture.seq == seq)
        for (node, time) in lastSeen {
            #expect(WorldResource.read(fixture.root.worldFile(Subject(kind: "node", name: node)))?.1.lastSeen == time)
        }
        // The first snapshot comes with the first batch; retention then keeps the last 90 days.
        fixture.drop("resource.observed", "container/nas/new")
        #expect(try fixture.turn { fixture.seq == seq + 1 && fixture.snapshots.count == 1 })
        let days = Set(EventLogFiles.segments(in: fixture.root.events).map(\.day))
        #expect((90...92).contains(days.count), "\(days.count) days kept")
        let live = fixture.worldBytes()
        try fixture.restart(removing: [fixture.root.observerCheckpoint])
        #expect(fixture.worldBytes() == live)
    }
}
