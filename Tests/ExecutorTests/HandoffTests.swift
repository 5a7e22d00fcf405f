#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport
import FSWatch
import HomelabCore
@testable import Executor

/// Actions with `runsOn` (docs/remote-actions.md): the executor claims and gates them as its
/// own, writes `handoff/NODE/ID.json` instead of starting a child, and records what the UI
/// writes beside it. The UI's side is played here by writing its files.
@Suite(.serialized, .timeLimit(.minutes(2))) struct HandoffTests {
    /// A catalog entry for node agents whose child, were it ever run here, would leave a mark.
    private func remoteCatalog(_ fixture: ExecutorFixture) -> String {
        let marker = fixture.base + "/ran-locally"
        fixture.catalog("remote-touch", #"{"argv":["touch","\#(marker)"],"params":{"host":"^[a-z]+$"},"runsOn":"{host}","timeoutSeconds":45}"#)
        return marker
    }

    private func write(_ json: String, _ path: String) { try! AtomicFile.write(json + "\n", to: path, durability: .none) }

    @Test func aRunsOnActionIsHandedOffAndItsResultRecorded() throws {
        let fixture = try ExecutorFixture()
        let marker = remoteCatalog(fixture)
        var settings = ExecutorService.Settings()
        settings.concurrency = 1
        try fixture.start(settings)
        fixture.approve("h1", action: "remote-touch", args: ["host": "nas"], resource: "container/nas/web")
        let offered = fixture.root.handoff("h1", node: "nas")
        #expect(try fixture.turn(until: { fileKind(offered) == .regular }))
        let offer = try #require(FileContents.object(offered))
        #expect(offer["argv"]?.array?.compactMap(\.string) == ["touch", marker])
        #expect(offer["timeoutSeconds"]?.int == 45 && offer["node"]?.string == "nas" && offer["action"]?.string == "remote-touch")
        #expect(fixture.ids(.running) == ["h1"] && fixture.executor.running == 0)
        #expect(fileKind(fixture.root.actionLog("h1")) == .regular)

        // It holds no slot: a second one, for another resource, is handed off too.
        fixture.approve("h2", action: "remote-touch", args: ["host": "nas"], resource: "container/nas/db")
        #expect(try fixture.turn(until: { fileKind(fixture.root.handoff("h2", node: "nas")) == .regular }))

        // The UI's files: claimed, started, the result.
        rename(offered, fixture.root.handoff("h1", node: "nas", .claimed))
        write(#"{"pid":4242,"startedAt":"2025-01-01T00:00:00.000Z"}"#, fixture.root.handoff("h1", node: "nas", .started))
        #expect(try fixture.turn(until: { fixture.events().contains { $0.type == "action.started" } }))
        write(#"{"exitCode":0,"startedAt":"2025-01-01T00:00:00.000Z","durationMs":12,"outputTail":"ok\n"}"#, fixture.root.handoff("h1", node: "nas", .result))
        #expect(try fixture.turn(until: { fixture.ids(.done) == ["h1"] }))
        #expect(fixture.result(.done, "h1")["outputTail"] as? String == "ok\n")
        #expect(fixture.result(.done, "h1")["exitCode"] as? Int == 0)
        let events = fixture.events().filter { $0.subject == "action/h1" }
        #expect(events.map(\.type) == ["action.started", "action.succeeded"])
        #expect(events.allSatisfy { $0.data["actor"] as? String == "agent:nas" })
        #expect(events.first?.data["pid"] as? Int == 4242)
        #expect(RuntimeRoot.HandoffStep.allCases.allSatisfy { fileKind(fixture.root.handoff("h1", node: "nas", $0)) == nil })
        #expect(!FileManager.default.fileExists(atPath: marker), "a runsOn action ran on the VPS")

        // A failed result (an error, or a non-zero exit) → failed/.
        write(#"{"exitCode":null,"error":"interrupted: the agent's stream closed"}"#, fixture.root.handoff("h2", node: "nas", .result))
        #expect(try fixture.turn(until: { fixture.ids(.failed) == ["h2"] }))
        #expect(fixture.result(.failed, "h2")["error"] as? String == "interrupted: the agent's stream closed")
        #expect(fixture.events().last?.type == "action.failed" && fixture.events().last?.data["actor"] as? String == "agent:nas")
    }

    /// The executor's own node (HOMELAB_NODE, the VPS in the stack) has no agent that takes
    /// actions: what runs there, the executor runs itself.
    @Test func anActionForTheExecutorsOwnNodeRunsHere() throws {
        let fixture = try ExecutorFixture()
        let marker = remoteCatalog(fixture)
        var settings = ExecutorService.Settings()
        settings.localNode = "vps"
        try fixture.start(settings)
        fixture.approve("l1", action: "remote-touch", args: ["host": "vps"], resource: "container/vps/web")
        #expect(try fixture.turn(until: { fixture.ids(.done) == ["l1"] }))
        #expect(FileManager.default.fileExists(atPath: marker))
        #expect(listDirectory(fixture.root.handoff).isEmpty)
        #expect(fixture.events().first { $0.type == "action.started" }?.data["actor"] as? String == "executor")
    }

    @Test func aValueThatIsNoNodeNameIsRefused() throws {
        let fixture = try ExecutorFixture()
        fixture.catalog("loose", #"{"argv":["true"],"params":{"host":".+"},"runsOn":"{host}"}"#)
        try fixture.start()
        fixture.approve("n1", action: "loose", args: ["host": "../etc"])
        #expect(try fixture.turn(until: { fixture.ids(.failed) == ["n1"] }))
        #expect((fixture.result(.failed, "n1")["error"] as? String)?.contains("not a valid node name") == true)
        #expect(listDirectory(fixture.root.handoff).isEmpty)
    }

    @Test func aHandoffNobodyClaimsFails() throws {
        let fixture = try ExecutorFixture()
        _ = remoteCatalog(fixture)
        var settings = ExecutorService.Settings()
        settings.handoffClaimTimeout = .milliseconds(300)
        try fixture.start(settings)
        fixture.approve("u1", action: "remote-touch", args: ["host": "pi"])
        #expect(try fixture.turn(until: { fixture.ids(.failed) == ["u1"] }))
        #expect(fixture.result(.failed, "u1")["error"] as? String == "no agent of node pi claimed it within 0.30 s")
        #expect(fileKind(fixture.root.handoff("u1", node: "pi")) == nil)
        #expect(fixture.events().last?.data["actor"] as? String == "agent:pi")

        // A claimed one is not failed by the timer.
        fixture.approve("u2", action: "remote-touch", args: ["host": "pi"])
        #expect(try fixture.turn(until: { fileKind(fixture.root.handoff("u2", node: "pi")) == .regular }))
        rename(fixture.root.handoff("u2", node: "pi"), fixture.root.handoff("u2", node: "pi", .claimed))
        try fixture.turn(for: .milliseconds(800))
        #expect(fixture.ids(.running) == ["u2"])
    }

    @Test func aRestartedExecutorTakesOverAHandoffInsteadOfFailingIt() throws {
        let fixture = try ExecutorFixture()
        _ = remoteCatalog(fixture)
        // What an executor that died mid-hand-off leaves: the action in running/ (unlocked),
        // its hand-off claimed and started by the agent.
        recordProposal("r1", root: fixture.root)
        try #"{"id":"r1","action":"remote-touch","args":{"host":"nas"}}"#.write(toFile: fixture.root.action("r1", in: .running), atomically: true, encoding: .utf8)
        makeFolders(fixture.root.handoffFolder("nas"))
        write(#"{"id":"r1","node":"nas","argv":["true"],"timeoutSeconds":45}"#, fixture.root.handoff("r1", node: "nas", .claimed))
        write(#"{"pid":7}"#, fixture.root.handoff("r1", node: "nas", .started))
        // And one with no hand-off: interrupted, the old way.
        try #"{"id":"r2","action":"remote-touch","args":{"host":"nas"}}"#.write(toFile: fixture.root.action("r2", in: .running), atomically: true, encoding: .utf8)
        try fixture.start()
        #expect(fixture.ids(.failed) == ["r2"])
        try fixture.turn(for: .milliseconds(300))
        #expect(fixture.ids(.running) == ["r1"])
        // Held: a second executor cannot take it over.
        #expect(ActionClaim.takeOver("r1", root: fixture.root) == nil)
        write(#"{"exitCode":0,"outputTail":"fine\n"}"#, fixture.root.handoff("r1", node: "nas", .result))
        #expect(try fixture.turn(until: { fixture.ids(.done) == ["r1"] }))
        let events = fixture.events().filter { $0.subject == "action/r1" }
        #expect(events.map(\.type) == ["action.started", "action.succeeded"])
        #expect(events.allSatisfy { $0.data["actor"] as? String == "agent:nas" })
    }

    @Test func stoppingDoesNotWaitForHandoffs() throws {
        let fixture = try ExecutorFixture()
        _ = remoteCatalog(fixture)
        try fixture.start()
        fixture.approve("s1", action: "remote-touch", args: ["host": "nas"])
        #expect(try fixture.turn(until: { fileKind(fixture.root.handoff("s1", node: "nas")) == .regular }))
        var stopped = false
        fixture.executor.stop { stopped = true }
        #expect(try fixture.turn(until: { stopped }, timeout: .seconds(2)))
        #expect(fixture.ids(.running) == ["s1"] && fileKind(fixture.root.handoff("s1", node: "nas")) == .regular)
    }
}
