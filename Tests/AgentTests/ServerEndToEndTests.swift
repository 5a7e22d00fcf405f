#if canImport(Glibc)
import Glibc
#endif
@testable import Agent
import FSWatch
import HomelabCore
import Observer
import Testing
import TestSupport
import UI

/// The agent against the real VPS side on one loop: the UI's `POST /api/events` with an agent
/// token from `secrets/agents/`, and the observer that logs what it takes.
@Suite(.serialized, .timeLimit(.minutes(2))) struct ServerEndToEndTests {
    @Test func theAgentsEventsReachTheLogOnceAndARevokedTokenHoldsThemInTheSpool() throws {
        let fixture = try AgentFixture()
        let (observer, ui, token) = try fixture.startVPS()
        defer { observer.shutdown() }
        defer { ui.shutdown() }
        try fixture.start(["--server": "http://127.0.0.1:\(ui.port)"])

        let ids = { fixture.loggedEvents().compactMap { $0["id"]?.string } }
        let first = fixture.drop(subject: "service/testnode/web")
        #expect(try fixture.turn(until: { ids().contains(first) && fixture.depth == 0 }, timeout: .seconds(30)))
        let log = fixture.loggedEvents()
        #expect(log.contains { $0["type"] == .string("node.heartbeat") && $0["source"] == .string("node/testnode") })
        #expect(Set(ids()).count == log.count)
        let node = try #require(WorldResource.read(fixture.root.worldFile(Subject(kind: "node", name: "testnode"))))
        #expect(node.1.source == "node/testnode")
        #expect(fixture.visibleSpoolFiles == [])

        // Revoked: the event waits in the spool; a new token file for the node lets it through.
        unlink(fixture.root.agentToken("testnode"))
        let second = fixture.drop(subject: "service/testnode/db")
        #expect(try fixture.turn { fixture.counter("failures") >= 2 })
        #expect(fixture.depth == 1)
        #expect(!ids().contains(second))
        try AtomicFile.write(token + "\n", to: fixture.root.agentToken("testnode"), mode: 0o600)
        #expect(try fixture.turn(until: { ids().contains(second) && fixture.depth == 0 }, timeout: .seconds(30)))
        #expect(ids().filter { $0 == second }.count == 1)
    }
}
