#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import FSWatch
import HomelabCore
import Observer
@testable import Notifier

@Suite(.serialized, .timeLimit(.minutes(1))) struct NotifierServiceTests {
    @Test func aProposalIsExactlyOneMessageWithItsTitleAndLinkOnEveryTarget() throws {
        let fixture = try NotifierFixture()
        try fixture.start()
        try fixture.proposed("a1b2c3")
        let receiver = fixture.receiver!
        #expect(try fixture.turn(until: { receiver.order.count == 3 }, timeout: .seconds(5)))
        try fixture.turn(for: .milliseconds(500))  // nothing more comes
        for kind in ["webhook", "ntfy", "gotify"] {
            let shown = receiver.shown(kind)
            #expect(shown.count == 1 && receiver.received(kind).count == 1, "\(kind)")
            #expect(shown.first?.title == "Proposal waiting: docker-start for container/nas/jellyfin", "\(kind)")
            #expect(shown.first?.click == NotifierFixture.publicURL + "#/actions/a1b2c3", "\(kind)")
            #expect(shown.first?.message.contains("$ docker start jellyfin") == true, "\(kind): the exact command")
        }
        #expect(Set(receiver.deliveries.map(\.key)).count == 1, "one key for one occurrence, on every target")
        #expect(receiver.shown("ntfy").first?.priority == 4 && receiver.shown("gotify").first?.priority == 7)
        #expect(receiver.refused.isEmpty)
        #expect(NotifyMessage.keys(root: fixture.root).isEmpty, "the outbox is empty once every target took it")
        #expect(NotifierState.read(root: fixture.root)?.seq == 1)
    }

    @Test func anAutoApprovedProposalNeedsNobodyAndSendsNothing() throws {
        let fixture = try NotifierFixture(kinds: [.webhook])
        try fixture.start()
        try fixture.audit(.proposed, id: "auto1", ["action": .string("docker-start"), "resource": .string("container/nas/x"), "approvedBy": .string("policy")])
        try fixture.proposed("manual1")
        #expect(try fixture.turn(until: { fixture.receiver.order.count == 1 }, timeout: .seconds(5)))
        try fixture.turn(for: .milliseconds(400))
        #expect(fixture.receiver.deliveries.map(\.click) == [NotifierFixture.publicURL + "#/actions/manual1"])
    }

    @Test func aReceiverThatIsDownGetsTheMessageOnceWhenItReturns() throws {
        let fixture = try NotifierFixture(kinds: [.ntfy, .gotify])
        let receiver = fixture.receiver!
        receiver.down()
        // The issue's outage: 30 s of refused connections, the back-off capped at 2 s.
        try fixture.start(settings: fixture.settings(backoff: .seconds(2)))
        try fixture.proposed("down1")
        try fixture.turn(for: .seconds(30))
        #expect(receiver.deliveries.isEmpty)
        #expect(NotifyMessage.keys(root: fixture.root).count == 1, "waiting in the outbox")
        try receiver.up()
        #expect(try fixture.turn(until: { receiver.order.count == 2 }, timeout: .seconds(5)))
        try fixture.turn(for: .milliseconds(500))
        #expect(receiver.received("ntfy").count == 1 && receiver.received("gotify").count == 1)
        #expect(NotifyMessage.keys(root: fixture.root).isEmpty)
    }

    @Test func aRestartResendsNothingAndSkipsNothing() throws {
        let fixture = try NotifierFixture(kinds: [.webhook])
        try fixture.start()
        try fixture.proposed("r1")
        #expect(try fixture.turn(until: { fixture.receiver.order.count == 1 && NotifyMessage.keys(root: fixture.root).isEmpty }, timeout: .seconds(5)))
        fixture.notifier.shutdown()
        fixture.reactor.shutdown()
        // A new notifier on the same root, a receiver of its own; the log grows meanwhile.
        let reactor = try Reactor()
        defer { reactor.shutdown() }
        let receiver = try Receiver(reactor: reactor)
        try FileManager.default.removeItem(atPath: fixture.inventory + "/notify/webhook.json")
        try #"{"type":"webhook","url":"\#(receiver.url)/hook","secretFile":"notify/webhook.secret"}"#.write(toFile: fixture.inventory + "/notify/webhook.json", atomically: true, encoding: .utf8)
        try ActionEvents(root: fixture.root, source: "supervisor").emit(.proposed, id: "r2", actor: "supervisor", ["resource": .string("container/nas/x")])
        let observer = ObserverService(configuration: fixture.configuration, logger: fixture.logger("observer"))
        try observer.start(on: reactor)
        let notifier = NotifierService(configuration: fixture.configuration, settings: fixture.settings(), logger: fixture.logger("notifier"))
        try notifier.start(on: reactor)
        #expect(try reactor.run(until: { receiver.order.count == 1 }, timeout: .seconds(5)))
        try reactor.run(for: .milliseconds(500))
        #expect(receiver.deliveries.map(\.click) == [NotifierFixture.publicURL + "#/actions/r2"], "r1 not again, r2 not skipped")
    }

    @Test func aServiceWhoseHeartbeatStopsIsDownOnceAndBackOnce() throws {
        let fixture = try NotifierFixture(kinds: [.webhook])
        var environment = ["HOMELAB_ROOT": fixture.root.path, "HOMELAB_REPO": fixture.repo, "HOMELAB_HEARTBEAT_SECONDS": "1"]
        environment["HOMELAB_LOG_LEVEL"] = "error"
        let configuration = try Configuration(environment: environment)
        func beat(_ at: Timestamp) throws {
            let status = ServiceStatus(service: "executor", pid: 1, startedAt: at.iso8601, heartbeatAt: at.iso8601Milliseconds, details: [:])
            try AtomicFile.write(status.bytes, to: fixture.root.serviceState("executor"), durability: .none)
        }
        try beat(.now())
        let notifier = NotifierService(configuration: configuration, settings: fixture.settings(), logger: fixture.logger("notifier"))
        try notifier.start(on: fixture.reactor)
        // Three periods (3 s) without a beat: down.
        #expect(try fixture.turn(until: { fixture.receiver.order.count == 1 }, timeout: .seconds(6)))
        #expect(fixture.receiver.deliveries.first?.title == "Service down: executor")
        try fixture.turn(for: .milliseconds(300))
        try beat(.now())
        #expect(try fixture.turn(until: { fixture.receiver.order.count == 2 }, timeout: .seconds(3)))
        #expect(fixture.receiver.deliveries.last?.title == "Service back: executor")
        #expect(fixture.receiver.deliveries.count == 2)
    }
}
