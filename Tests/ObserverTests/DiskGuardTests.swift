#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport
import FSWatch
import HomelabCore
@testable import Observer

/// The disk guard on a real 20 MB file system (tmpfs; the tests run as root), filled by another
/// process: ingest pauses, nothing is lost, nothing crashes, and it resumes by itself.
@Suite(.serialized, .timeLimit(.minutes(1))) struct DiskGuardTests {
    private func run(_ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    @Test(.enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
    func ingestPausesBelowTheThresholdLosesNothingAndResumesByItself() throws {
        let fixture = try YearsFixture()
        fixture.environment["HOMELAB_MIN_FREE_MB"] = "8"
        #expect(run(["/bin/mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", fixture.root.path]) == 0)
        defer { _ = run(["/bin/umount", "-l", fixture.root.path]) }
        try fixture.root.create()
        try fixture.start()
        fixture.dropHistory(10)
        #expect(try fixture.turn { fixture.seq == 10 })

        // Another process fills the file system to 6 MB free: below HOMELAB_MIN_FREE_MB=8.
        let ballast = fixture.root.path + "/ballast"
        #expect(run(["/bin/dd", "if=/dev/zero", "of=" + ballast, "bs=1M", "count=14"]) == 0)
        try fixture.turn(for: .milliseconds(1100))  // free space is read at most once a second
        fixture.dropHistory(50)
        #expect(try fixture.turn { fixture.observer.statusDetails["ingest"]?["paused"]?.bool == true })
        try fixture.turn(for: .seconds(1))
        let ingest = try #require(fixture.observer.statusDetails["ingest"]?.object)
        #expect(ingest["reason"]?.string?.hasPrefix("free space ") == true && ingest["reason"]?.string?.hasSuffix(" MB below HOMELAB_MIN_FREE_MB=8") == true)
        #expect(ingest["minFreeMB"]?.int == 8 && (ingest["freeMB"]?.int ?? 99) < 8 && ingest["since"]?.string != nil)
        #expect(visible(fixture.root.inbox).count + visible(fixture.root.audit).count == 50)  // waiting, not taken
        #expect(fixture.logLines.last?["type"] as? String == "ingest.paused")
        #expect(fixture.seq == 11)

        unlink(ballast)
        #expect(try fixture.turn(until: { fixture.seq == 62 }, timeout: .seconds(5)))
        #expect(fixture.observer.failure == nil)
        #expect(fixture.observer.statusDetails["ingest"]?["paused"]?.bool == false)
        let types = fixture.logLines.compactMap { $0["type"] as? String }
        #expect(types[10] == "ingest.paused" && types[11] == "ingest.resumed")
        #expect(Set(fixture.logLines.compactMap { $0["id"] as? String }.filter { $0.hasPrefix("y") }).count == 60)  // none lost
        let paused = try #require(fixture.logLines[10]["data"] as? [String: Any])
        #expect(paused["minFreeMB"] as? Int == 8 && paused["freeMB"] is Int && fixture.logLines[10]["source"] as? String == "observer")
    }
}
