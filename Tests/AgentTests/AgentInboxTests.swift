#if canImport(Glibc)
import Glibc
#endif
@testable import Agent
import FSWatch
import HomelabCore
import Testing
import TestSupport

/// Files dropped into the agent's own inbox: forwarded once if they speak for this node,
/// refused with a reason otherwise, and never taken half-written.
@Suite(.serialized, .timeLimit(.minutes(1))) struct AgentInboxTests {
    @Test func aValidFileIsForwardedOnceAndRemoved() throws {
        let fixture = try AgentFixture()
        let server = try TestServer(reactor: fixture.reactor)
        fixture.environment["HOMELAB_AGENT_TOKEN"] = server.token
        let early = fixture.drop()  // there before the agent starts: the start-up scan takes it
        try fixture.start(["--server": server.url])
        let late = fixture.drop(type: "backup.finished", data: #"{"bytes":12}"#)
        #expect(try fixture.turn { fixture.depth == 0 && server.accepted.count >= 4 })
        try fixture.turn(for: .milliseconds(200))
        for id in [early, late] { #expect(server.accepted.filter { $0["id"]?.string == id }.count == 1) }
        let forwarded = try #require(server.accepted.first { $0["id"]?.string == late })
        #expect(forwarded["time"]?.string != nil)  // stamped at receipt on the node
        #expect(forwarded["data"] == .object(["bytes": .int(12)]))
        #expect(fixture.files(fixture.agentInbox) == [])
        #expect(fixture.counter("forwarded") == 2)
    }

    @Test func eventsForAnotherNodeAreRefusedWithTheirReasons() throws {
        let fixture = try AgentFixture()
        let server = try TestServer(reactor: fixture.reactor)
        fixture.environment["HOMELAB_AGENT_TOKEN"] = server.token
        try fixture.start(["--server": server.url])
        fixture.drop(source: "node/other", name: "other-source.json")
        fixture.drop(subject: "container/other/x", name: "other-subject.json")
        writeFile(fixture.agentInbox + "/garbage.json", "not json at all, and old")
        let past = timespec(tv_sec: 1_000_000, tv_nsec: 0)
        _ = [past, past].withUnsafeBufferPointer { utimensat(AT_FDCWD, fixture.agentInbox + "/garbage.json", $0.baseAddress, 0) }
        #expect(try fixture.turn { fixture.counter("refused") == 3 })
        let rejected = fixture.files(fixture.agentRejected)
        #expect(rejected == ["garbage.json", "garbage.json.reason.json", "other-source.json", "other-source.json.reason.json",
                             "other-subject.json", "other-subject.json.reason.json"])
        let reason = { (name: String) in FileContents.object(fixture.agentRejected + "/" + name + ".reason.json")?["reason"]?.string ?? "" }
        #expect(reason("other-source.json").contains("is not node/testnode"))
        #expect(reason("other-subject.json").contains("belongs to node other"))
        #expect(reason("garbage.json").hasPrefix("not JSON"))
        #expect(fixture.files(fixture.agentInbox) == [])
        #expect(server.accepted.allSatisfy { $0["source"] == .string("node/testnode") })
    }

    @Test func aFileStillBeingWrittenSettlesBeforeItCounts() throws {
        let fixture = try AgentFixture()
        let server = try TestServer(reactor: fixture.reactor)
        fixture.environment["HOMELAB_AGENT_TOKEN"] = server.token
        // A producer that writes under the final name, caught halfway by the start-up scan.
        let text = Array(#"{"type":"resource.observed","source":"node/testnode","id":"slow","subject":"service/testnode/slow","data":{"state":"up"}}"#.utf8)
        let fd = open(fixture.agentInbox + "/slow.json", O_WRONLY | O_CREAT | O_EXCL, 0o644)
        _ = text.withUnsafeBytes { write(fd, $0.baseAddress, 30) }
        try fixture.start(["--server": server.url])
        try fixture.turn(for: .milliseconds(300))
        #expect(fixture.files(fixture.agentRejected) == [])
        _ = text.withUnsafeBytes { write(fd, $0.baseAddress! + 30, text.count - 30) }
        close(fd)
        #expect(try fixture.turn { server.accepted.contains { $0["id"]?.string == "slow" } })
        #expect(fixture.files(fixture.agentRejected) == [])
    }
}
