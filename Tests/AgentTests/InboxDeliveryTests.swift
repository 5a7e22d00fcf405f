#if canImport(Glibc)
import Glibc
#endif
@testable import Agent
import FSWatch
import HomelabCore
@testable import Observer
import Testing
import TestSupport

/// `--inbox ROOT/inbox` (the VPS) end to end with a real observer on the same loop: what the
/// agent reports lands in the log once, and a restart in the middle loses nothing.
@Suite(.serialized, .timeLimit(.minutes(2))) struct InboxDeliveryTests {
    private func ids(_ events: [JSONObject], type: String? = nil) -> [String] {
        events.filter { type == nil || $0["type"]?.string == type }.compactMap { $0["id"]?.string }
    }

    @Test func factsHeartbeatsAndForwardedEventsLandInTheLogOnceEach() throws {
        let fixture = try AgentFixture()
        fixture.environment["HOMELAB_HEARTBEAT_SECONDS"] = "1"
        let observer = ObserverService(configuration: fixture.configuration, logger: fixture.logger("observer"))
        try observer.start(on: fixture.reactor)
        defer { observer.shutdown() }
        try fixture.start(["--inbox": fixture.root.inbox])
        let forwarded = fixture.drop(subject: "service/testnode/web")
        #expect(try fixture.turn(until: {
            let log = fixture.loggedEvents()
            // One heartbeat a minute is logged; the others only move lastSeen (docs/observer.md).
            let thinned = observer.statusDetails["counters"]?["heartbeatsThinned"]?.int ?? 0
            return ids(log, type: "node.heartbeat").count >= 1 && thinned >= 1 && ids(log).contains(forwarded)
        }, timeout: .seconds(20)))
        let log = fixture.loggedEvents()
        #expect(Set(ids(log)).count == log.count)  // each once
        #expect(log.filter { $0["subject"] == .string("service/testnode/web") }.count == 1)
        #expect(!log.filter { $0["subject"] == .string("node/testnode") && $0["type"] == .string("resource.observed") }.isEmpty)
        let node = try #require(WorldResource.read(fixture.root.worldFile(Subject(kind: "node", name: "testnode"))))
        #expect(node.1.source == "node/testnode")
        #expect(fixture.visibleSpoolFiles == [])
        #expect(fixture.files(fixture.root.rejected) == [])
        // The status of a runtime root's agent.
        let settings = try fixture.settings(["--inbox": fixture.root.inbox])
        #expect(settings.runtimeRoot?.path == fixture.root.path)
        #expect(FileContents.object(AgentService.statusFile(spool: fixture.spool))?["transport"] == .string("inbox"))
    }

    @Test func anAgentRestartedMidwayLosesNothing() throws {
        let fixture = try AgentFixture()
        let observer = ObserverService(configuration: fixture.configuration, logger: fixture.logger("observer"))
        try observer.start(on: fixture.reactor)
        defer { observer.shutdown() }
        // The inbox is away: events stay spooled.
        let away = fixture.base + "/inbox-away"
        rename(fixture.root.inbox, away)
        makeFolder(fixture.root.inbox)
        try fixture.start(["--inbox": fixture.root.inbox])
        rmdir(fixture.root.inbox)
        let first = (1...3).map { _ in fixture.drop() }
        #expect(try fixture.turn { fixture.counter("forwarded") == 3 && fixture.counter("failures") >= 1 })
        #expect(fixture.depth == 4)
        fixture.stop()
        let second = (1...3).map { _ in fixture.drop() }  // while no agent runs
        rename(away, fixture.root.inbox)
        try fixture.start(["--inbox": fixture.root.inbox])
        #expect(try fixture.turn(until: { Set(first + second).isSubset(of: Set(ids(fixture.loggedEvents()))) && fixture.depth == 0 },
                                 timeout: .seconds(20)))
        try fixture.turn(for: .milliseconds(300))
        let log = fixture.loggedEvents()
        #expect(Set(ids(log)).count == log.count)
        #expect(ids(log, type: "resource.observed").count == 6 + 2)  // the six and the facts of each start
        #expect(fixture.visibleSpoolFiles == [])
    }
}
