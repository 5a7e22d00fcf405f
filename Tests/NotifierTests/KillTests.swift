#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import FSWatch
import HomelabCore
import Observer
@testable import Notifier

/// The real `homelab notifier`, `kill -9`ed again and again while it delivers to a slow
/// receiver: every message arrives, and the receiver's ledger (by key) shows none twice.
@Suite(.serialized, .timeLimit(.minutes(1))) struct KillTests {
    /// The binary built beside the test bundle.
    static var binary: String {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("homelab").path
    }

    private func startNotifier(_ fixture: NotifierFixture) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["notifier"]
        process.environment = ProcessInfo.processInfo.environment.merging([
            "HOMELAB_ROOT": fixture.root.path, "HOMELAB_REPO": fixture.repo, "HOMELAB_LOG_LEVEL": "error",
            "HOMELAB_PUBLIC_URL": NotifierFixture.publicURL, "HOMELAB_NOTIFY_GROUP_MS": "0", "HOMELAB_NOTIFY_BACKOFF_MAX_MS": "200",
        ]) { $1 }
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return process
    }

    @Test func killedMidDeliveryInALoopEveryMessageArrivesAndNoneIsShownTwice() throws {
        let fixture = try NotifierFixture(kinds: [.webhook, .ntfy])
        let receiver = fixture.receiver!
        receiver.delay = .milliseconds(15)
        let observer = ObserverService(configuration: fixture.configuration, logger: fixture.logger("observer"))
        try observer.start(on: fixture.reactor)
        // The notifier starts from the end of the log on its first start: start it once first.
        var process = try startNotifier(fixture)
        #expect(try fixture.turn(until: { fileKind(fixture.root.notifyState) == .regular }, timeout: .seconds(10)))
        let count = 40
        // A node each: none is grouped with another.
        for index in 0..<count { try fixture.proposed("kill\(index)", resource: "container/node\(index)/app") }
        var kills = 0
        var random = SystemRandomNumberGenerator()
        while kills < 8 {
            try fixture.turn(for: .milliseconds(Int.random(in: 60...180, using: &random)))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            kills += 1
            process = try startNotifier(fixture)
        }
        defer {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        #expect(try fixture.turn(until: { receiver.order.count == 2 * count }, timeout: .seconds(20)))
        try fixture.turn(for: .milliseconds(300))
        for kind in ["webhook", "ntfy"] {
            let shown = receiver.shown(kind)
            #expect(shown.count == count, "\(kind): every message, each key once")
            #expect(Set(shown.map(\.click)).count == count, "\(kind): one key per occurrence: no message under two keys")
        }
        #expect(receiver.refused.isEmpty)
        #expect(try fixture.turn(until: { NotifyMessage.keys(root: fixture.root).isEmpty }, timeout: .seconds(5)))
        print("notifier kill test: \(receiver.deliveries.count) deliveries for \(2 * count) messages after \(kills) kills")
    }
}
