#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport
import FSWatch
import HomelabCore
@testable import UI

/// An action run by a node's agent, end to end on one root: the executor hands it off, the UI
/// relays it to an agent (played by the test over HTTP), the observer folds the events.
@Suite(.serialized, .timeLimit(.minutes(2))) struct AgentActionsEndToEndTests {
    @Test func aRunsOnActionIsRunByTheAgentAndRecordedAsItsWork() throws {
        let fixture = try UIFixture(observer: true, executor: true)
        let token = "hla_" + Digest.randomHex(bytes: 24)
        try AtomicFile.write(token + "\n", to: fixture.root.agentToken("nas"), mode: 0o600)
        try #"{"argv":["docker","start","{container}"],"params":{"host":"^[a-z]+$","container":"^[a-z]+$"},"runsOn":"{host}","timeoutSeconds":60}"#
            .write(toFile: fixture.inventory + "/actions/docker-start.json", atomically: true, encoding: .utf8)
        let auth = "Authorization: Bearer \(token)"

        // Proposed and approved as the supervisor and an operator would.
        let events = ActionEvents(root: fixture.root, source: "test")
        try events.emit(.proposed, id: "e2e", actor: "supervisor")
        try events.emit(.approved, id: "e2e", actor: "operator")
        try AtomicFile.write(#"{"id":"e2e","action":"docker-start","args":{"host":"nas","container":"web"},"resource":"container/nas/web"}"#,
                             to: fixture.root.action("e2e", in: .approved), durability: .none)

        let stream = fixture.stream([auth], path: "/api/agent/actions?instance=agent-1")
        defer { close(stream) }
        let offers = fixture.read(stream, timeout: 20) { $0.contains("\"e2e\"") }
        #expect(offers.contains(#""argv":["docker","start","web"]"#))
        let (claimed, _) = fixture.request("POST", "/api/agent/actions/e2e/claim", headers: [auth], body: #"{"instance":"agent-1"}"#)
        #expect(claimed == 200)
        #expect(fixture.request("POST", "/api/agent/actions/e2e/started", headers: [auth], body: #"{"instance":"agent-1","pid":99}"#).0 == 200)
        #expect(fixture.request("POST", "/api/agent/actions/e2e/output?instance=agent-1", headers: [auth, "Content-Type: application/octet-stream"], body: "web\n").0 == 200)
        #expect(fixture.request("POST", "/api/agent/actions/e2e/result", headers: [auth], body: #"{"instance":"agent-1","exitCode":0,"durationMs":40,"outputTail":"web\n"}"#).0 == 200)

        let deadline = Date().addingTimeInterval(20)
        func lifecycle() -> [[String: Any]] {
            guard let data = FileManager.default.contents(atPath: fixture.root.worldFile(Subject(kind: "action", name: "e2e"))),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [] }
            return object["lifecycle"] as? [[String: Any]] ?? []
        }
        while Date() < deadline && !(fixture.root.actionState("e2e") == .done && lifecycle().count >= 4) { usleep(20_000) }
        #expect(fixture.root.actionState("e2e") == .done)
        #expect(try String(contentsOfFile: fixture.root.actionLog("e2e"), encoding: .utf8) == "web\n")
        let steps = lifecycle().map { "\($0["step"] as? String ?? "?") \($0["actor"] as? String ?? "?")" }
        // (The two events the test drops at once are taken in either order.)
        #expect(Set(steps.prefix(2)) == ["proposed supervisor", "approved operator"])
        #expect(Array(steps.dropFirst(2)) == ["started agent:nas", "succeeded agent:nas"])
        #expect(fixture.root.handoffNode("e2e") == nil, "the hand-off's files were left behind")
    }
}
