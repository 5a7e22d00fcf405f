#if canImport(Glibc)
import Glibc
#endif
@testable import Agent
import Executor
import FSWatch
import HomelabCore
import Observer
import Testing
import TestSupport
import UI

/// A runsOn action end to end on one loop (docs/remote-actions.md): the real executor hands it
/// off, the real UI offers it to the agent over loopback with the node's token, the agent runs
/// it and posts its output and result, and the executor records it done — its output in
/// `logs/actions/ID.log`, its events by `agent:NODE`, and no child of the executor's own.
@Suite(.serialized, .timeLimit(.minutes(2))) struct ActionsEndToEndTests {
    @Test func anApprovedRunsOnActionRunsOnTheNodeAndEndsInDone() throws {
        let fixture = try AgentFixture()
        fixture.catalog("remote-echo", #"{"argv":["echo","ran on {host}"],"params":{"host":"^[a-z]+$"},"runsOn":"{host}","timeoutSeconds":30}"#)
        let (observer, ui, _) = try fixture.startVPS()
        defer { observer.shutdown() }
        defer { ui.shutdown() }
        let executor = ExecutorService(configuration: fixture.configuration, logger: fixture.logger("executor"))
        try executor.start(on: fixture.reactor)
        defer { executor.shutdown() }
        fixture.environment["HOMELAB_AGENT_ALLOW"] = "echo"
        try fixture.start(["--server": "http://127.0.0.1:\(ui.port)"])

        recordProposal("e2e-1", root: fixture.root)
        let approved = fixture.root.actions(.approved) + "/e2e-1.json"
        try AtomicFile.write(#"{"id":"e2e-1","action":"remote-echo","args":{"host":"testnode"},"resource":"container/testnode/web"}"# + "\n",
                             to: approved, durability: .none)
        #expect(try fixture.turn(until: { fixture.ids(.done) == ["e2e-1"] }, timeout: .seconds(30)))
        let result = fixture.action(.done, "e2e-1")["result"] as? [String: Any] ?? [:]
        #expect(result["exitCode"] as? Int == 0 && result["outputTail"] as? String == "ran on testnode\n")
        #expect(String(decoding: FileContents.read(fixture.root.actionLog("e2e-1")) ?? [], as: UTF8.self) == "ran on testnode\n")
        let ran = { fixture.loggedEvents().filter { $0["subject"] == .string("action/e2e-1") && $0["type"]?.string != "action.claimed" } }
        #expect(try fixture.turn { ran().count == 2 })
        #expect(ran().map { $0["type"]?.string ?? "" } == ["action.started", "action.succeeded"])
        #expect(ran().allSatisfy { $0["data"]?["actor"] == .string("agent:testnode") })
        #expect(executor.running == 0)
        let actions = fixture.agent?.statusDetails["actions"]?.object ?? [:]
        #expect(actions["claimed"]?.int == 1 && actions["succeeded"]?.int == 1)
    }
}
