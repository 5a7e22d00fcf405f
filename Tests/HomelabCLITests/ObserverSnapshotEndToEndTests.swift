#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// Snapshots under `kill -9` (docs/observer.md): with a snapshot after every batch, kills land
/// in the middle of snapshot writes; the world a rebuild from the newest snapshot makes, and
/// the one a replay of the whole log makes, both equal the world the kills left, byte for byte.
@Suite(.serialized, .timeLimit(.minutes(5))) struct ObserverSnapshotEndToEndTests {
    @Test func killNineDuringSnapshotWritesThenRebuildsMatchAFullReplay() throws {
        let fixture = try RuntimeFixture()
        let environment = fixture.environment.merging(["HOMELAB_SNAPSHOT_EVENTS": "1"]) { $1 }
        let total = 3000
        let producer = Thread {
            for i in 0..<total {
                fixture.drop("s\(i).json", RuntimeFixture.observed(id: "s-\(i)", subject: "container/h\(i % 10)/c\(i % 37)", data: #"{"n":\#(i)}"#))
                if i % 8 == 0 { usleep(400) }
            }
        }
        producer.start()
        for _ in 0..<15 {
            let observer = try HomelabProcess(["observer"], environment: environment)
            usleep(UInt32.random(in: 20_000...200_000))
            kill(observer.pid, SIGKILL)
            _ = observer.waitForExit(timeout: 5)
        }
        let final = try HomelabProcess(["observer"], environment: environment)
        #expect(fixture.waitForIdle(seq: total, timeout: 120), "checkpoint \(fixture.checkpointSeq() ?? -1)")
        kill(final.pid, SIGTERM)
        #expect(final.waitForExit(timeout: 2) == 0)
        let snapshots = fixture.root + "/state/snapshots"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: snapshots)) ?? []
        #expect(!names.isEmpty && names.count <= 2 && names.allSatisfy { !$0.hasPrefix(".") }, "\(names)")
        let ids = fixture.logLines().compactMap { $0["id"] as? String }
        #expect(ids.count == total && Set(ids).count == total)
        let incremental = fixture.worldFiles()

        try FileManager.default.removeItem(atPath: fixture.checkpoint)
        let fromSnapshot = try HomelabProcess(["observer"], environment: environment)
        #expect(fromSnapshot.waitUntil { $0.standardError.contains("rebuilt world/ from the snapshot at seq \(total) and 0 events") }, "\(fromSnapshot.standardError)")
        kill(fromSnapshot.pid, SIGTERM)
        #expect(fromSnapshot.waitForExit(timeout: 2) == 0)
        #expect(fixture.worldFiles() == incremental)

        try FileManager.default.removeItem(atPath: fixture.checkpoint)
        try FileManager.default.removeItem(atPath: snapshots)
        let full = try HomelabProcess(["observer"], environment: environment)
        #expect(full.waitUntil { $0.standardError.contains("rebuilt world/ from \(total) events") }, "\(full.standardError)")
        kill(full.pid, SIGTERM)
        #expect(full.waitForExit(timeout: 2) == 0)
        #expect(fixture.worldFiles() == incremental)
    }
}
