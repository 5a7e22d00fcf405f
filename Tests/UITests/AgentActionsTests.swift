#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport
import FSWatch
import HomelabCore
@testable import UI

/// `/api/agent/actions` (docs/remote-actions.md) over real loopback HTTP: the hand-off files
/// the executor writes are offered to their node's agent, claimed once, and the agent's
/// start, output and result land beside them; leases end what a lost agent claimed.
@Suite(.serialized, .timeLimit(.minutes(2))) struct AgentActionsTests {
    private func token(_ fixture: UIFixture, _ node: String) -> String {
        let token = "hla_" + Digest.randomHex(bytes: 24)
        try! AtomicFile.write(token + "\n", to: fixture.root.agentToken(node), mode: 0o600)
        return token
    }

    /// `handoff/NODE/ID.json`, as the executor writes it.
    private func handOff(_ fixture: UIFixture, _ id: String, node: String = "nas") {
        makeFolders(fixture.root.handoffFolder(node))
        try! AtomicFile.write(#"{"id":"\#(id)","node":"\#(node)","action":"docker-start","resource":"container/\#(node)/web","argv":["docker","start","web"],"timeoutSeconds":120}"#,
                              to: fixture.root.handoff(id, node: node), durability: .none)
    }

    private func post(_ fixture: UIFixture, _ id: String, _ verb: String, _ token: String?, _ body: String, query: String = "") -> (Int, String) {
        fixture.request("POST", "/api/agent/actions/\(id)/\(verb)\(query)", headers: token.map { ["Authorization: Bearer \($0)"] } ?? [], body: body)
    }

    private func stream(_ fixture: UIFixture, _ token: String, instance: String, running: String = "") -> Int32 {
        fixture.stream(["Authorization: Bearer \(token)"], path: "/api/agent/actions?instance=\(instance)" + (running.isEmpty ? "" : "&running=\(running)"))
    }

    private func result(_ fixture: UIFixture, _ id: String, node: String = "nas") -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: fixture.root.handoff(id, node: node, .result)) else { return nil }
        return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    }

    private func waitFor(_ timeout: Double = 10, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    @Test func offersGoToTheirNodeAndOneClaimWins() throws {
        let fixture = try UIFixture()
        let nas = token(fixture, "nas")
        let pi = token(fixture, "pi")
        handOff(fixture, "o1")
        handOff(fixture, "p1", node: "pi")

        #expect(fixture.request("GET", "/api/agent/actions?instance=a").0 == 401)
        #expect(fixture.request("GET", "/api/agent/actions?instance=a", headers: ["Authorization: Bearer s3cret"]).0 == 401)
        let fd = stream(fixture, nas, instance: "agent-1")
        defer { close(fd) }
        let first = fixture.read(fd, timeout: 10) { $0.contains("\"o1\"") }
        #expect(first.contains("event: offer\ndata: {\"id\":\"o1\",\"action\":\"docker-start\",\"resource\":\"container/nas/web\",\"argv\":[\"docker\",\"start\",\"web\"],\"timeoutSeconds\":120}"))
        #expect(!first.contains("p1"), "another node's action was offered")
        handOff(fixture, "o2")
        #expect(fixture.read(fd, timeout: 10) { $0.contains("\"o2\"") }.contains("event: offer"))

        // Two claims sent at once: one rename wins.
        let claims = (0..<2).map { index -> Int32 in
            let fd = fixture.connect()
            let body = #"{"instance":"agent-\#(index)"}"#
            let text = "POST /api/agent/actions/o1/claim HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer \(nas)\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
            _ = Array(text.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            return fd
        }
        let statuses = claims.map { fd -> Int in
            defer { close(fd) }
            return Int(fixture.read(fd, timeout: 5) { _ in false }.split(separator: " ").dropFirst().first ?? "") ?? 0
        }.sorted()
        #expect(statuses == [200, 409])
        #expect(FileManager.default.fileExists(atPath: fixture.root.handoff("o1", node: "nas", .claimed)))
        #expect(FileManager.default.fileExists(atPath: fixture.root.handoff("o1", node: "nas", .agent)))

        let (status, answer) = post(fixture, "o2", "claim", nas, #"{"instance":"agent-1"}"#)
        #expect(status == 200)
        #expect(answer.hasSuffix(#"{"id":"o2","argv":["docker","start","web"],"timeoutSeconds":120}"# + "\n"))
        // Its answer lost, the same instance asks again: the same answer; another instance: 409.
        let (again, repeated) = post(fixture, "o2", "claim", nas, #"{"instance":"agent-1"}"#)
        #expect(again == 200 && repeated.hasSuffix(#"{"id":"o2","argv":["docker","start","web"],"timeoutSeconds":120}"# + "\n"))
        #expect(post(fixture, "o2", "claim", nas, #"{"instance":"agent-0"}"#).0 == 409)

        // Another node's token: 403 for every verb; no token 401; unknown 404.
        #expect(post(fixture, "o2", "claim", pi, #"{"instance":"x"}"#).0 == 403)
        #expect(post(fixture, "o2", "result", pi, #"{"instance":"x","exitCode":0}"#).0 == 403)
        #expect(post(fixture, "p1", "claim", nas, #"{"instance":"agent-1"}"#).0 == 403)
        #expect(post(fixture, "o2", "claim", nil, #"{"instance":"agent-1"}"#).0 == 401)
        #expect(post(fixture, "nope", "claim", nas, #"{"instance":"agent-1"}"#).0 == 404)
    }

    @Test func outputIsAppendedAndTheResultWrittenOnce() throws {
        let fixture = try UIFixture()
        let nas = token(fixture, "nas")
        handOff(fixture, "r1")
        try "".write(toFile: fixture.root.actionLog("r1"), atomically: true, encoding: .utf8)
        let fd = stream(fixture, nas, instance: "i1")
        defer { close(fd) }
        #expect(post(fixture, "r1", "output", nas, "early", query: "?instance=i1").0 == 409, "output before a claim")
        #expect(post(fixture, "r1", "claim", nas, #"{"instance":"i1"}"#).0 == 200)
        #expect(post(fixture, "r1", "started", nas, #"{"instance":"i2","pid":5}"#).0 == 409, "another instance")
        #expect(post(fixture, "r1", "started", nas, #"{"instance":"i1","pid":5,"startedAt":"2025-01-01T00:00:00.000Z"}"#).0 == 200)
        #expect(FileContents.object(fixture.root.handoff("r1", node: "nas", .started))?["pid"]?.int == 5)
        #expect(post(fixture, "r1", "output", nas, "line one\n", query: "?instance=i1").0 == 200)
        #expect(post(fixture, "r1", "output", nas, "line two\n", query: "?instance=i1").0 == 200)
        #expect(post(fixture, "r1", "output", nas, "x", query: "?instance=i2").0 == 409)
        #expect(try String(contentsOfFile: fixture.root.actionLog("r1"), encoding: .utf8) == "line one\nline two\n")

        let done = #"{"instance":"i1","exitCode":0,"durationMs":12,"outputTail":"line two\n"}"#
        #expect(post(fixture, "r1", "result", nas, done).0 == 200)
        #expect(result(fixture, "r1")?["exitCode"] as? Int == 0 && result(fixture, "r1")?["instance"] == nil)
        #expect(post(fixture, "r1", "result", nas, done).0 == 200, "a repeat of the same result")
        #expect(post(fixture, "r1", "result", nas, #"{"instance":"i1","exitCode":1}"#).0 == 409)
        #expect(post(fixture, "r1", "output", nas, "late", query: "?instance=i1").0 == 409)
    }

    @Test func aLostAgentsClaimEndsInterruptedAfterTheLease() throws {
        let fixture = try UIFixture(agentLease: .milliseconds(500))
        let nas = token(fixture, "nas")
        handOff(fixture, "l1")
        let fd = stream(fixture, nas, instance: "gone")
        _ = fixture.read(fd, timeout: 10) { $0.contains("\"l1\"") }
        #expect(post(fixture, "l1", "claim", nas, #"{"instance":"gone"}"#).0 == 200)
        usleep(800_000)
        #expect(result(fixture, "l1") == nil, "ended while its agent's stream was open")
        close(fd)
        #expect(waitFor { result(fixture, "l1") != nil })
        let verdict = try #require(result(fixture, "l1"))
        #expect((verdict["error"] as? String)?.hasPrefix("interrupted: the agent of node nas was gone") == true)
        #expect(verdict["exitCode"] is NSNull)
        // Its late result cannot flip the outcome.
        #expect(post(fixture, "l1", "result", nas, #"{"instance":"gone","exitCode":0}"#).0 == 409)
    }

    @Test func aReconnectKeepsWhatTheAgentStillRunsAndEndsTheRest() throws {
        let fixture = try UIFixture(agentLease: .seconds(1))
        let nas = token(fixture, "nas")
        handOff(fixture, "k1")
        handOff(fixture, "k2")
        let fd = stream(fixture, nas, instance: "run-1")
        _ = fixture.read(fd, timeout: 10) { $0.contains("\"k1\"") && $0.contains("\"k2\"") }
        #expect(post(fixture, "k1", "claim", nas, #"{"instance":"run-1"}"#).0 == 200)
        #expect(post(fixture, "k2", "claim", nas, #"{"instance":"run-1"}"#).0 == 200)
        close(fd)
        usleep(200_000)
        // Back within the lease, still running k1 but no longer k2.
        let again = stream(fixture, nas, instance: "run-1", running: "k1")
        defer { close(again) }
        _ = fixture.read(again, timeout: 5) { $0.contains(": connected") }
        #expect(waitFor { result(fixture, "k2") != nil })
        #expect((result(fixture, "k2")?["error"] as? String)?.hasPrefix("interrupted: the agent of node nas came back without it") == true)
        usleep(1_500_000)  // past the lease
        #expect(result(fixture, "k1") == nil, "a claim kept by its reconnected agent was ended")

        // The agent restarted: a new instance, and the old one's stream is gone.
        close(again)
        usleep(200_000)
        let restarted = stream(fixture, nas, instance: "run-2")
        defer { close(restarted) }
        #expect(waitFor { result(fixture, "k1") != nil })
        #expect((result(fixture, "k1")?["error"] as? String)?.hasPrefix("interrupted: the agent of node nas restarted") == true)
    }
}
