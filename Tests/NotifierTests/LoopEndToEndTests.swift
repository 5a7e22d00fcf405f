#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import FSWatch
import HomelabCore
import Supervisor
@testable import Notifier

/// The loop with a real observer and supervisor: drift → proposal → message; storms grouped;
/// verification and flapping told once.
@Suite(.serialized, .timeLimit(.minutes(1))) struct LoopEndToEndTests {
    @Test func fiftyContainersStoppingWithinASecondAreOneMessage() throws {
        let fixture = try NotifierFixture(kinds: [.ntfy])
        let names = (0..<50).map { "nas/app\($0)" }
        for name in names { fixture.desire(name) }
        for name in names { try fixture.observe("container/" + name, ["state": .string("running")]) }
        try fixture.start(supervised: true, settings: fixture.settings(window: .milliseconds(1500)))
        try fixture.turn(for: .milliseconds(300))
        for name in names { try fixture.observe("container/" + name, ["state": .string("exited")]) }
        #expect(try fixture.turn(until: { fixture.ids(.pending).count == 50 }, timeout: .seconds(10)))
        #expect(try fixture.turn(until: { !fixture.receiver.deliveries.isEmpty }, timeout: .seconds(5)))
        try fixture.turn(for: .milliseconds(1800))
        let deliveries = fixture.receiver.deliveries
        #expect(deliveries.count == 1)
        #expect(deliveries.first?.title == "50 proposals waiting on nas")
        #expect(deliveries.first?.message.contains("… and 40 more") == true)
    }

    @Test func anActionThatLeavesItsDriftIsUnverifiedAndSaidOnce() throws {
        let fixture = try NotifierFixture(kinds: [.webhook])
        fixture.desire("nas/jellyfin")
        try fixture.observe("container/nas/jellyfin", ["state": .string("exited")])
        var supervisorSettings = SupervisorService.Settings()
        supervisorSettings.verifySettleSeconds = 0.3
        try fixture.start(supervised: true, settings: fixture.settings(window: .zero), supervisorSettings: supervisorSettings)
        #expect(try fixture.turn(until: { fixture.ids(.pending).count == 1 }, timeout: .seconds(5)))
        let id = fixture.ids(.pending)[0]
        // The executor's part: it ran, it "succeeded"; the container exits again at once.
        var file = fixture.action(.pending, id)
        file["result"] = ["exitCode": 0, "finishedAt": Timestamp.now().iso8601Milliseconds]
        try JSONSerialization.data(withJSONObject: file).write(to: URL(fileURLWithPath: fixture.root.action(id, in: .done)))
        unlink(fixture.root.action(id, in: .pending))
        try fixture.observe("container/nas/jellyfin", ["state": .string("running")])
        try fixture.turn(for: .milliseconds(100))
        try fixture.observe("container/nas/jellyfin", ["state": .string("exited")])
        #expect(try fixture.turn(until: { fixture.receiver.deliveries.contains { $0.title.hasPrefix("Action unverified") } }, timeout: .seconds(5)))
        try fixture.turn(for: .milliseconds(300))
        let unverified = fixture.receiver.deliveries.filter { $0.title.hasPrefix("Action unverified") }
        #expect(unverified.count == 1 && unverified[0].title == "Action unverified: container/nas/jellyfin still drifts")
        #expect(unverified[0].click == NotifierFixture.publicURL + "#/actions/" + id)
    }

    @Test func aFlappingContainerIsOneMessage() throws {
        let fixture = try NotifierFixture(kinds: [.gotify])
        fixture.desire("nas/jellyfin")
        try fixture.observe("container/nas/jellyfin", ["state": .string("running")])
        try fixture.start(supervised: true, settings: fixture.settings(window: .milliseconds(200)))
        for _ in 0..<5 {
            try fixture.observe("container/nas/jellyfin", ["state": .string("exited")])
            try fixture.turn(for: .milliseconds(80))
            for id in fixture.ids(.pending) { unlink(fixture.root.action(id, in: .pending)) }
            try fixture.observe("container/nas/jellyfin", ["state": .string("running")])
            try fixture.turn(for: .milliseconds(80))
        }
        try fixture.observe("container/nas/jellyfin", ["state": .string("exited")])
        try fixture.turn(for: .milliseconds(600))
        let flapping = fixture.receiver.deliveries.filter { $0.title == "Flapping: container/nas/jellyfin" }
        #expect(flapping.count == 1)
        #expect(flapping.first?.priority == 10)
        // No proposal storm: three proposals before it flapped (each one grouped or not), none after.
        #expect(fixture.receiver.deliveries.filter { $0.title.hasPrefix("Proposal") || $0.title.contains("proposals") }.count <= 3)
        #expect(fixture.ids(.pending).isEmpty)
    }
}
