#if canImport(Glibc)
import Glibc
#endif
@testable import Agent
import FSWatch
import HomelabCore
import Testing
import TestSupport

/// Actions run by the agent (docs/remote-actions.md) against an in-test listener speaking the
/// agent's API table: the order of the requests, a lost claim, the allow-list, the timeout,
/// and what a reconnect says.
@Suite(.serialized, .timeLimit(.minutes(2))) struct RemoteActionTests {
    private func start(_ fixture: AgentFixture, _ server: TestServer, allow: String? = nil, concurrency: Int? = nil,
                       adjust: (inout AgentSettings) -> Void = { _ in }) throws {
        fixture.environment["HOMELAB_AGENT_TOKEN"] = server.token
        if let allow { fixture.environment["HOMELAB_AGENT_ALLOW"] = allow }
        if let concurrency { fixture.environment["HOMELAB_AGENT_CONCURRENCY"] = String(concurrency) }
        try fixture.start(["--server": server.url], adjust: adjust)
        #expect(try fixture.turn { server.actions.streams.count == 1 })
    }

    private func actions(_ fixture: AgentFixture) -> JSONObject { fixture.agent?.statusDetails["actions"]?.object ?? [:] }

    @Test func anOfferIsClaimedStartedStreamedAndItsResultPostedInOrder() throws {
        let fixture = try AgentFixture()
        let server = try TestServer(reactor: fixture.reactor)
        fixture.environment["DOCKER_HOST"] = "unix:///run/test-engine.sock"
        try start(fixture, server, allow: "printenv")
        let stream = try #require(server.actions.streams.first)
        #expect(stream.instance.count == 36 && stream.instance.split(separator: "-").count == 5 && stream.running.isEmpty)
        server.actions.offer("act-1", argv: ["printenv"])
        #expect(try fixture.turn { server.actions.handoffs["act-1"]?.result != nil })
        #expect(server.actions.log.filter { $0 != "stream" } == ["claim act-1", "started act-1", "output act-1", "result act-1"])
        let handoff = try #require(server.actions.handoffs["act-1"])
        #expect(handoff.claimedBy == stream.instance)
        #expect((handoff.started?["pid"]?.int ?? 0) > 0 && handoff.started?["instance"]?.string == stream.instance)
        // The minimal environment, and the engine's address kept from the agent's own.
        let output = String(decoding: handoff.output, as: UTF8.self)
        let variables = Set(output.split(separator: "\n").map { String($0.prefix { $0 != "=" }) })
        #expect(variables == ["PATH", "HOME", "LANG", "HOMELAB_ACTION_ID", "DOCKER_HOST"])
        #expect(output.contains("HOMELAB_ACTION_ID=act-1\n") && output.contains("DOCKER_HOST=unix:///run/test-engine.sock\n"))
        #expect(output.contains("HOME=\(fixture.spool)/.actions/act-1\n") && output.contains("LANG=C.UTF-8\n"))
        let result = try #require(handoff.result)
        #expect(result["exitCode"]?.int == 0 && result["error"] == nil && result["instance"]?.string == stream.instance)
        #expect(result["outputTail"]?.string == output && result["startedAt"] != nil && result["finishedAt"] != nil && result["durationMs"] != nil)
        #expect(actions(fixture)["claimed"]?.int == 1 && actions(fixture)["succeeded"]?.int == 1)
        #expect(try fixture.turn { listDirectory(fixture.spool + "/.actions").isEmpty })  // HOME and the node's copy of the output go
    }

    @Test func aClaimAnsweredConflictRunsNothing() throws {
        let fixture = try AgentFixture()
        let server = try TestServer(reactor: fixture.reactor)
        try start(fixture, server, allow: "touch")
        server.actions.loseClaims = true
        let marker = fixture.base + "/ran"
        server.actions.offer("act-2", argv: ["touch", marker])
        #expect(try fixture.turn { actions(fixture)["lostClaims"]?.int == 1 })
        try fixture.turn(for: .milliseconds(200))
        #expect(server.actions.log.filter { $0 != "stream" } == ["claim act-2"])
        #expect(fileKind(marker) == nil && actions(fixture)["claimed"]?.int == 0)
    }

    @Test func aProgramOutsideTheAllowListIsClaimedAndReportedFailedWithoutRunning() throws {
        let fixture = try AgentFixture()
        let server = try TestServer(reactor: fixture.reactor)
        try start(fixture, server)  // the default: docker
        let marker = fixture.base + "/ran"
        server.actions.offer("act-3", argv: ["/bin/sh", "-c", "touch \(marker)"])
        server.actions.offer("act-4", argv: ["true"])
        #expect(try fixture.turn { server.actions.handoffs["act-3"]?.result != nil && server.actions.handoffs["act-4"]?.result != nil })
        #expect(server.actions.handoffs["act-3"]?.result?["error"]?.string == "refused: /bin/sh is not in HOMELAB_AGENT_ALLOW (docker)")
        #expect(server.actions.handoffs["act-4"]?.result?["error"]?.string == "refused: true is not in HOMELAB_AGENT_ALLOW (docker)")
        #expect(server.actions.handoffs["act-3"]?.result?["exitCode"] == nil)
        #expect(!server.actions.log.contains { $0.hasPrefix("started") || $0.hasPrefix("output") })
        #expect(fileKind(marker) == nil && actions(fixture)["refused"]?.int == 2)
    }

    @Test func anEntryMatchesTheBaseNameOfAPath() throws {
        let fixture = try AgentFixture()
        let server = try TestServer(reactor: fixture.reactor)
        try start(fixture, server, allow: "docker,touch")
        let marker = fixture.base + "/ran"
        server.actions.offer("act-5", argv: ["/usr/bin/touch", marker])
        #expect(try fixture.turn { server.actions.handoffs["act-5"]?.result != nil })
        #expect(server.actions.handoffs["act-5"]?.result?["exitCode"]?.int == 0 && fileKind(marker) == .regular)
    }

    @Test func aTimeoutSendsTermThenKillAfterTheGrace() throws {
        let fixture = try AgentFixture()
        let server = try TestServer(reactor: fixture.reactor)
        try start(fixture, server, allow: "sleep,sh") { $0.killGrace = .milliseconds(300) }
        server.actions.offer("polite", argv: ["sleep", "30"], timeoutSeconds: 1)
        server.actions.offer("stubborn", argv: ["sh", "-c", "trap '' TERM; echo waiting; sleep 30 & wait; sleep 30"], timeoutSeconds: 1)
        #expect(try fixture.turn(until: { server.actions.handoffs["polite"]?.result != nil && server.actions.handoffs["stubborn"]?.result != nil },
                                 timeout: .seconds(10)))
        let polite = try #require(server.actions.handoffs["polite"]?.result)
        #expect(polite["signal"]?.string == "SIGTERM" && polite["exitCode"]?.int == 128 + Int(SIGTERM))
        #expect(polite["error"]?.string == "timed out after 1 s: sent SIGTERM")
        let stubborn = try #require(server.actions.handoffs["stubborn"]?.result)
        #expect(stubborn["signal"]?.string == "SIGKILL")
        #expect(stubborn["error"]?.string == "timed out after 1 s: sent SIGTERM, then SIGKILL after the grace period")
        #expect(stubborn["outputTail"]?.string == "waiting\n")
        for id in ["polite", "stubborn"] {
            let pid = try #require(server.actions.handoffs[id]?.started?["pid"]?.int)
            #expect(!groupAlive(pid_t(pid)))
        }
    }

    @Test func aReconnectListsTheRunningIDsAndAResultAfterTheLeaseEndedIsDropped() throws {
        let fixture = try AgentFixture()
        let server = try TestServer(reactor: fixture.reactor)
        try start(fixture, server, allow: "sleep")
        let instance = try #require(server.actions.streams.first?.instance)
        server.actions.offer("long", argv: ["sleep", "1"])
        #expect(try fixture.turn { server.actions.handoffs["long"]?.started != nil })
        server.actions.refuseStreams = true
        server.actions.dropStreams()
        #expect(try fixture.turn { server.actions.log.filter { $0 == "stream" }.count >= 3 })  // refused: retried with back-off
        server.actions.refuseStreams = false
        #expect(try fixture.turn { server.actions.streams.count == 1 })
        let again = try #require(server.actions.streams.first)
        #expect(again.instance == instance && again.running == ["long"])
        server.actions.endLeases()  // the UI's verdict came first
        #expect(try fixture.turn { actions(fixture)["leaseEnded"]?.int == 1 })
        #expect(server.actions.handoffs["long"]?.result == nil)
        #expect(server.actions.log.last == "result long")
        try fixture.turn(for: .milliseconds(300))
        #expect(server.actions.log.last == "result long")  // said once, not retried
    }

    @Test func aStoppedAgentTakesItsChildrenWithIt() throws {
        let fixture = try AgentFixture()
        let server = try TestServer(reactor: fixture.reactor)
        try start(fixture, server, allow: "sleep")
        server.actions.offer("cut", argv: ["sleep", "30"])
        #expect(try fixture.turn { server.actions.handoffs["cut"]?.started != nil })
        let pid = try #require(server.actions.handoffs["cut"]?.started?["pid"]?.int)
        #expect(groupAlive(pid_t(pid)))
        fixture.stop()
        #expect(!groupAlive(pid_t(pid)))
        #expect(server.actions.handoffs["cut"]?.result == nil)  // the VPS fails it as interrupted
    }

    @Test func atMostTheConcurrencyRunAtOnceAndTheRestWaitUnclaimed() throws {
        let fixture = try AgentFixture()
        let server = try TestServer(reactor: fixture.reactor)
        try start(fixture, server, allow: "sleep", concurrency: 2)
        for index in 1...5 { server.actions.offer("c\(index)", argv: ["sleep", "0.2"]) }
        var most = 0
        #expect(try fixture.turn {
            most = max(most, actions(fixture)["running"]?.int ?? 0)
            return (1...5).allSatisfy { server.actions.handoffs["c\($0)"]?.result != nil }
        })
        #expect(most == 2)
        #expect(server.actions.handoffs.values.allSatisfy { $0.result?["exitCode"]?.int == 0 })
    }
}
