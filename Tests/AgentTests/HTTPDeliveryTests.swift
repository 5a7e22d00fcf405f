#if canImport(Glibc)
import Glibc
#endif
@testable import Agent
import FSWatch
import HomelabCore
import Testing
import TestSupport

/// The HTTP transport against a real listener on 127.0.0.1 speaking the documented answers:
/// what is acknowledged leaves the spool, nothing else does, and retries are harmless.
@Suite(.serialized, .timeLimit(.minutes(2))) struct HTTPDeliveryTests {
    private func start(_ fixture: AgentFixture, _ server: TestServer) throws {
        fixture.environment["HOMELAB_AGENT_TOKEN"] = server.token
        try fixture.start(["--server": server.url])
    }

    @Test func eventsArePostedAsABatchWithTheTokenAndLeaveTheSpoolOnceAcknowledged() throws {
        let fixture = try AgentFixture()
        let server = try TestServer(reactor: fixture.reactor)
        try start(fixture, server)
        // At start: the node's facts (spooled) and a heartbeat (not).
        #expect(try fixture.turn { server.events(ofType: "resource.observed").count == 1 && server.events(ofType: "node.heartbeat").count == 1 })
        let facts = try #require(server.events(ofType: "resource.observed").first)
        #expect(facts["subject"] == .string("node/testnode") && facts["source"] == .string("node/testnode"))
        #expect(facts["data"]?["agent"]?["transport"] == .string("http"))
        let request = try #require(server.requests.first)
        #expect(request.head == "POST /api/events HTTP/1.1")
        #expect(request.headers["content-type"] == "application/cloudevents-batch+json")
        #expect(request.headers["authorization"] == "Bearer agent-token")

        let id = fixture.drop()
        #expect(try fixture.turn { server.accepted.contains { $0["id"]?.string == id } && fixture.depth == 0 })
        #expect(fixture.files(fixture.agentInbox) == [])
        #expect(fixture.visibleSpoolFiles == [])  // drained: only hidden files
        #expect(server.connections == 1)          // one keep-alive connection
        #expect(fixture.counter("delivered") == 2)
    }

    /// No polling: once everything is delivered, the loop sleeps until the heartbeat is due.
    @Test func anIdleAgentDoesNotWakeUp() throws {
        let fixture = try AgentFixture()
        let server = try TestServer(reactor: fixture.reactor)
        try start(fixture, server)
        #expect(try fixture.turn { fixture.depth == 0 && server.accepted.count == 2 })
        try fixture.turn(for: .milliseconds(100))
        let started = MonotonicTime.now()
        let ready = try fixture.reactor.runOnce(timeout: .milliseconds(700))
        #expect(ready == 0)  // woken by nothing: the wait ran out
        #expect(MonotonicTime.now() - started >= .milliseconds(650))
        #expect(server.connections == 1)
    }

    @Test func aServerThatIsDownIsRetriedWithBackOffAndNothingIsLost() throws {
        let fixture = try AgentFixture()
        let server = try TestServer(reactor: fixture.reactor)
        server.unavailable = true
        try start(fixture, server)
        let ids = (1...5).map { _ in fixture.drop() }
        #expect(try fixture.turn { server.requests.count >= 4 })
        #expect(fixture.depth == 6)  // the facts and the five
        #expect(fixture.visibleSpoolFiles.count == 1)
        server.unavailable = false
        #expect(try fixture.turn { fixture.depth == 0 })
        #expect(Set(ids).isSubset(of: Set(server.accepted.compactMap { $0["id"]?.string })))
        #expect(server.accepted.count == 6 + server.events(ofType: "node.heartbeat").count)
        #expect(server.events(ofType: "node.heartbeat").count == 1)  // kept, not piled up
    }

    @Test func aResponseLostMidwayIsSentAgainAndCountsAsDuplicates() throws {
        let fixture = try AgentFixture()
        let server = try TestServer(reactor: fixture.reactor)
        server.script = [.cutMidway]
        try start(fixture, server)
        #expect(try fixture.turn { fixture.depth == 0 && fixture.counter("delivered") >= 1 })
        #expect(fixture.counter("duplicates") == 1)  // the facts, taken the first time
        #expect(server.events(ofType: "resource.observed").count == 1)
        #expect(server.connections == 2)
    }

    @Test func aSilentServerTimesOutAndIsTriedAgain() throws {
        let fixture = try AgentFixture()
        let server = try TestServer(reactor: fixture.reactor)
        server.script = [.silence]
        fixture.environment["HOMELAB_AGENT_TOKEN"] = server.token
        var settings = try fixture.settings(["--server": server.url])
        settings.requestTimeout = .milliseconds(300)
        let agent = AgentService(settings: settings, logger: fixture.logger("agent"))
        try agent.start(on: fixture.reactor)
        fixture.agent = agent
        #expect(try fixture.turn { fixture.depth == 0 && server.events(ofType: "resource.observed").count == 1 })
        #expect(server.requests.count >= 2)
    }

    @Test func aRefusedTokenKeepsTheSpoolUntilTheTokenFileIsRight() throws {
        let fixture = try AgentFixture()
        let server = try TestServer(reactor: fixture.reactor)
        let tokenFile = fixture.folder.file("token", "old-token\n")
        fixture.environment["HOMELAB_AGENT_TOKEN_FILE"] = tokenFile
        try fixture.start(["--server": server.url])
        #expect(try fixture.turn { server.requests.count >= 3 })
        #expect(server.accepted.isEmpty)
        #expect(fixture.depth == 1)
        writeFile(tokenFile, server.token)  // re-read after each 401
        #expect(try fixture.turn { fixture.depth == 0 && server.accepted.count == 2 })
    }

    @Test func a403KeepsTheSpoolAndA413HalvesTheBatch() throws {
        let fixture = try AgentFixture()
        let server = try TestServer(reactor: fixture.reactor)
        server.unavailable = true
        try start(fixture, server)
        for _ in 1...9 { fixture.drop() }
        #expect(try fixture.turn { fixture.depth == 10 && server.requests.count >= 2 })
        let before = server.requests.count
        server.script = [.status(403, #"{"error":"not this node's"}"#), .status(413, "")]
        server.unavailable = false
        #expect(try fixture.turn { fixture.depth == 0 })
        let sizes = server.requests[before...].map { $0.events.filter { $0["type"] != .string("node.heartbeat") }.count }
        #expect(Array(sizes.prefix(4)) == [10, 10, 5, 5])  // refused whole, too large, then in halves
        #expect(server.accepted.filter { $0["type"] == .string("resource.observed") }.count == 10)
    }

    @Test func aRejectedEventIsAcknowledgedAndKeptWithItsReason() throws {
        let fixture = try AgentFixture()
        let server = try TestServer(reactor: fixture.reactor)
        server.rejects = { $0["subject"]?.string == "service/testnode/bad" ? "not wanted here" : nil }
        try start(fixture, server)
        let id = fixture.drop(subject: "service/testnode/bad")
        #expect(try fixture.turn { fixture.counter("rejected") == 1 && fixture.depth == 0 })
        #expect(fixture.files(fixture.agentRejected) == [id + ".json", id + ".json.reason.json"])
        let reason = FileContents.object(fixture.agentRejected + "/" + id + ".json.reason.json")
        #expect(reason?["reason"] == .string("not wanted here"))
        let kept = FileContents.object(fixture.agentRejected + "/" + id + ".json")
        #expect(kept?["id"] == .string(id))
    }

    @Test func aBacklogDrainsInBatchesOfAtMostAThousand() throws {
        let fixture = try AgentFixture()
        let server = try TestServer(reactor: fixture.reactor)
        server.unavailable = true
        try start(fixture, server)
        for _ in 1...2500 { fixture.drop() }
        #expect(try fixture.turn(until: { fixture.files(fixture.agentInbox).isEmpty && fixture.depth == 2501 }, timeout: .seconds(60)))
        server.unavailable = false
        #expect(try fixture.turn(until: { fixture.depth == 0 }, timeout: .seconds(60)))
        let sizes = server.requests.filter { !$0.events.isEmpty && $0.events.count > 1 }.map(\.events.count)
        #expect(sizes.allSatisfy { $0 <= 1001 })  // a thousand spooled, and the heartbeat
        #expect(server.accepted.filter { $0["type"]?.string == "resource.observed" }.count == 2501)
        #expect(fixture.visibleSpoolFiles == [])
    }

    /// After a partition, a live report goes ahead of the backlog when nothing older in the
    /// spool is about its subject; one about a subject the backlog holds waits its turn. Both
    /// are also delivered in order later (the server de-duplicates the copy).
    @Test func aLiveReportGoesAheadOfABacklogUnlessItsSubjectWaitsInIt() throws {
        let fixture = try AgentFixture()
        let server = try TestServer(reactor: fixture.reactor)
        server.unavailable = true
        try start(fixture, server)
        for _ in 1...2500 { fixture.drop(subject: "service/testnode/web") }
        #expect(try fixture.turn(until: { fixture.files(fixture.agentInbox).isEmpty && fixture.depth == 2501 }, timeout: .seconds(60)))
        let agent = try #require(fixture.agent)
        agent.collected(type: "resource.observed", subject: "container/testnode/live", data: .object(["state": .string("running")]))
        agent.collected(type: "resource.observed", subject: "service/testnode/web", data: .object(["late": .bool(true)]))
        server.unavailable = false
        #expect(try fixture.turn(until: { fixture.depth == 0 }, timeout: .seconds(60)))
        let subjects = server.accepted.compactMap { $0["subject"]?.string }
        let live = try #require(subjects.firstIndex(of: "container/testnode/live"))
        let lastOfBacklog = try #require(subjects.lastIndex(of: "service/testnode/web"))
        // At most the request in flight when it was spooled (a thousand) and the short slice
        // that rides with it go first; the rest of the backlog comes after it.
        #expect(live <= 1001 + Delivery.besideAhead + 1, "the live report went out with the next request")
        #expect(lastOfBacklog - live > 1000)
        let late = try #require(server.accepted.lastIndex { $0["data"]?["late"] == .bool(true) })
        #expect(late == lastOfBacklog, "a report whose subject waits in the backlog comes after all of it")
        #expect(server.accepted.filter { $0["data"]?["late"] == .bool(true) }.count == 1)
        #expect(fixture.counter("sentAhead") == 1)
        #expect(fixture.visibleSpoolFiles == [])
    }
}
