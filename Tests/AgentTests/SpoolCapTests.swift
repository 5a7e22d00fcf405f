#if canImport(Glibc)
import Glibc
#endif
@testable import Agent
import FSWatch
import HomelabCore
import Testing
import TestSupport

/// A full spool: reports are counted as gaps instead of spooled, inbox files wait where they
/// are, and once there is room a fresh Docker snapshot and fresh facts make the world right.
/// The docker CLI is a small script (a real process) that answers like an engine with one
/// container.
@Suite(.serialized, .timeLimit(.minutes(2))) struct SpoolCapTests {
    private func dockerScript(_ fixture: AgentFixture) -> String {
        let calls = fixture.base + "/docker-calls"
        let bin = fixture.base + "/bin"
        makeFolder(bin)
        writeFile(bin + "/docker", """
        #!/bin/sh
        echo "$1" >> \(calls)
        case "$1" in
          events) exec sleep 3600 ;;
          ps) echo 0123abcd ;;
          inspect) echo '{"id":"0123abcd","name":"/web","state":{"Status":"running","StartedAt":"2026-11-26T15:00:00Z"},"image":"nginx:1","labels":null}' ;;
          version) echo 27.3.1 ;;
        esac
        """)
        chmod(bin + "/docker", 0o755)
        fixture.environment["PATH"] = bin + ":/usr/bin:/bin"
        fixture.environment["HOMELAB_AGENT_DOCKER"] = "1"
        return calls
    }

    private func snapshots(_ calls: String) -> Int {
        String(decoding: FileContents.read(calls) ?? [], as: UTF8.self).split(separator: "\n").filter { $0 == "ps" }.count
    }

    @Test func pastTheCapReportsAreGapsAndRoomBringsAFreshSnapshot() throws {
        let fixture = try AgentFixture()
        let calls = dockerScript(fixture)
        let server = try TestServer(reactor: fixture.reactor)
        server.unavailable = true
        fixture.environment["HOMELAB_AGENT_TOKEN"] = server.token
        try fixture.start(["--server": server.url]) { $0.spoolMaxBytes = 4000 }
        let agent = try #require(fixture.agent)
        // The snapshot, the facts, and the engine's version in them.
        #expect(try fixture.turn { snapshots(calls) == 1 && fixture.depth >= 2 && fixture.agent?.statusDetails["docker"]?["engineVersion"] == .string("27.3.1") })
        // Fill it from the inbox: what does not fit stays in the inbox.
        for _ in 1...8 { fixture.drop(data: #"{"pad":"\#(String(repeating: "x", count: 600))"}"#) }
        #expect(try fixture.turn { fixture.agent?.statusDetails["spool"]?["full"] == .bool(true) && fixture.files(fixture.agentInbox).count + fixture.counter("forwarded") == 8 })
        #expect(!fixture.files(fixture.agentInbox).isEmpty)
        let depth = fixture.depth
        // A container report now is a gap, not a spooled event.
        agent.collected(type: "resource.observed", subject: "container/testnode/web", data: .object(["state": .string("exited")]))
        try fixture.turn(for: .milliseconds(100))
        #expect(fixture.counter("gaps") == 1)
        #expect(fixture.depth == depth)

        // Room again: everything waiting is delivered, a fresh snapshot and fresh facts follow.
        server.unavailable = false
        #expect(try fixture.turn { snapshots(calls) == 2 && fixture.files(fixture.agentInbox).isEmpty && fixture.depth == 0 && server.events(ofType: "resource.snapshot").count == 2 })
        let facts = server.events(ofType: "resource.observed").filter { $0["subject"] == .string("node/testnode") }
        #expect(facts.count >= 2)
        #expect(facts.last?["data"]?["agent"]?["gaps"] == .int(1))
        #expect(facts.last?["data"]?["docker"] == .string("27.3.1"))
        let exited = server.accepted.filter { event in event["subject"] == .string("container/testnode/web") && event["data"]?["state"] == .string("exited") }
        #expect(exited.isEmpty)
        #expect(fixture.agent?.statusDetails["spool"]?["full"] == .bool(false))

        // The gap count outlives the agent.
        fixture.stop()
        try fixture.start(["--server": server.url]) { $0.spoolMaxBytes = 4000 }
        #expect(fixture.counter("gaps") == 1)
    }

    @Test func withoutADockerCLITheAgentRunsAndReportsTheNode() throws {
        let fixture = try AgentFixture()
        fixture.environment["HOMELAB_AGENT_DOCKER"] = "1"
        fixture.environment["PATH"] = fixture.base  // nothing there
        let server = try TestServer(reactor: fixture.reactor)
        fixture.environment["HOMELAB_AGENT_TOKEN"] = server.token
        try fixture.start(["--server": server.url])
        #expect(try fixture.turn { server.events(ofType: "resource.observed").count == 1 && fixture.depth == 0 })
        #expect(server.events(ofType: "resource.observed").first?["data"]?["docker"] == nil)
        #expect(fixture.agent?.statusDetails["docker"]?["connected"] == .bool(false))
    }
}
