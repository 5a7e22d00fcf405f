#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport
import FSWatch
import HomelabCore
@testable import UI
import Observer

/// `POST /api/events` (SPEC §7, §11) against a real UI and observer on one loop: answers only
/// once the events are in the log, one result per event, and the token decides who may speak.
@Suite(.serialized, .timeLimit(.minutes(1))) struct EventIngestTests {
    static let batch = "Content-Type: application/cloudevents-batch+json"
    static let single = "Content-Type: application/cloudevents+json"

    private func token(_ fixture: UIFixture, _ node: String) -> String {
        let token = "hla_" + Digest.randomHex(bytes: 24)
        try! AtomicFile.write(token + "\n", to: fixture.root.agentToken(node), mode: 0o600)
        return token
    }

    private func event(_ id: String, source: String = "node/nas", subject: String? = nil, type: String = "custom.thing") -> String {
        #"{"specversion":"1.0","type":"\#(type)","source":"\#(source)","id":"\#(id)"\#(subject.map { #","subject":"\#($0)""# } ?? "")}"#
    }

    private func results(_ response: String) -> [[String: Any]] {
        guard let start = response.range(of: "\r\n\r\n")?.upperBound,
              let object = try? JSONSerialization.jsonObject(with: Data(response[start...].utf8)) as? [String: Any]
        else { return [] }
        return object["results"] as? [[String: Any]] ?? []
    }

    private func logged(_ fixture: UIFixture) -> [String] {
        var cursor = EventLogCursor(folder: fixture.root.events, after: 0)
        var ids: [String] = []
        while case let events = cursor.next(maxBytes: 1 << 20), !events.isEmpty { ids += events.map { $0.source + " " + $0.id } }
        return ids
    }

    @Test func eventsAreLoggedOnceBeforeTheAnswer() throws {
        let fixture = try UIFixture(observer: true)
        let nas = token(fixture, "nas")
        let auth = "Authorization: Bearer \(nas)"

        let (status, response) = fixture.request("POST", "/api/events", headers: [auth, Self.single], body: event("a1"))
        #expect(status == 200)
        #expect(results(response).map { $0["status"] as? String } == ["accepted"])
        #expect(logged(fixture) == ["node/nas a1"])  // in the log when the answer came

        // A batch: a repeat, two new ones, a malformed item, and one repeated inside the batch.
        let body = "[" + [event("a1"), event("a2", subject: "container/nas/web"), #"{"source":"node/nas","id":"bad"}"#, event("a3"), event("a2")].joined(separator: ",") + "]"
        let (batchStatus, batchResponse) = fixture.request("POST", "/api/events", headers: [auth, Self.batch], body: body)
        #expect(batchStatus == 200)
        let list = results(batchResponse)
        #expect(list.map { $0["status"] as? String } == ["duplicate", "accepted", "rejected", "accepted", "duplicate"])
        #expect(list.map { $0["id"] as? String } == ["a1", "a2", "bad", "a3", "a2"])
        #expect((list[2]["reason"] as? String)?.contains("type") == true)
        #expect(logged(fixture) == ["node/nas a1", "node/nas a2", "node/nas a3"])
        #expect(listDirectory(fixture.root.posted).allSatisfy { $0.name.hasPrefix(".") })

        // The operator token posts for anyone, but not for the services.
        let operatorAuth = "Authorization: Bearer s3cret"
        let mixed = "[" + event("s1", source: "script/backup") + "," + event("s2", source: "script/backup", subject: "action/x", type: "action.approved") + "]"
        let (operatorStatus, operatorResponse) = fixture.request("POST", "/api/events", headers: [operatorAuth, Self.batch], body: mixed)
        #expect(operatorStatus == 200)
        #expect(results(operatorResponse).map { $0["status"] as? String } == ["accepted", "rejected"])
    }

    @Test func aTokenSpeaksOnlyForItsNode() throws {
        let fixture = try UIFixture(observer: true)
        let nas = token(fixture, "nas")
        _ = token(fixture, "pi")
        let auth = "Authorization: Bearer \(nas)"
        func post(_ headers: [String], _ body: String) -> Int { fixture.request("POST", "/api/events", headers: headers, body: body).0 }

        #expect(post([auth, Self.batch], "[" + event("p1", source: "node/pi") + "]") == 403)
        #expect(post([auth, Self.batch], "[" + event("ok") + "," + event("p2", subject: "container/pi/web") + "]") == 403)
        #expect(post([auth, Self.single], event("p3", subject: "node/pi")) == 403)
        #expect(post([Self.batch], "[" + event("n1") + "]") == 401)
        #expect(post(["Authorization: Bearer not-a-token-at-all", Self.batch], "[" + event("n2") + "]") == 401)
        #expect(post([auth, "Content-Type: application/json"], event("n3")) == 415)
        let tooMany = "[" + (0...EventValidation.maxBatchEvents).map { event("m\($0)") }.joined(separator: ",") + "]"
        #expect(post([auth, Self.batch], tooMany) == 413)
        let tooBig = "[" + event("big").dropLast() + #","data":""# + String(repeating: "x", count: 1 << 20) + "\"}]"
        #expect(post([auth, Self.batch], tooBig) == 413)
        #expect(logged(fixture).isEmpty)

        // Revoked by deleting the file: refused on the very next request.
        #expect(post([auth, Self.single], event("r1")) == 200)
        unlink(fixture.root.agentToken("nas"))
        #expect(post([auth, Self.single], event("r2")) == 401)
        #expect(logged(fixture) == ["node/nas r1"])
    }

    /// `/summary` and `/metrics` show each node: last heard from, its facts, its agent's spool
    /// and gaps as reported, and what it posted here.
    @Test func theSummaryShowsEveryNodeAndItsAgent() throws {
        let fixture = try UIFixture(observer: true)
        let auth = "Authorization: Bearer \(token(fixture, "nas"))"
        let facts = #"{"specversion":"1.0","type":"resource.observed","source":"node/nas","id":"f1","subject":"node/nas","data":{"os":"Debian GNU/Linux 12 (bookworm)","cpus":4,"agent":{"transport":"http","spooled":3,"gaps":1}}}"#
        let heartbeat = #"{"specversion":"1.0","type":"node.heartbeat","source":"node/nas","id":"h1","subject":"node/nas"}"#
        #expect(fixture.request("POST", "/api/events", headers: [auth, Self.batch], body: "[\(facts),\(heartbeat)]").0 == 200)
        var nas: [String: Any] = [:]
        for _ in 0..<40 where nas["delivery"] == nil {
            // The summary is cached for a second at most.
            let response = fixture.request("GET", "/summary").1
            let body = response[response.range(of: "\r\n\r\n")!.upperBound...]
            let summary = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
            nas = (summary?["nodes"] as? [String: Any])?["nas"] as? [String: Any] ?? [:]
            if nas["delivery"] == nil { usleep(100_000) }
        }
        #expect((nas["facts"] as? [String: Any])?["os"] as? String == "Debian GNU/Linux 12 (bookworm)")
        #expect((nas["agent"] as? [String: Any])?["gaps"] as? Int == 1)
        #expect((nas["delivery"] as? [String: Any])?["accepted"] as? Int == 2)
        #expect(nas["lastSeen"] is String)
        let metrics = fixture.request("GET", "/metrics").1
        #expect(metrics.contains(#"homelab_agent_gaps_total{node="nas"} 1"#))
        #expect(metrics.contains(#"homelab_agent_spooled_events{node="nas"} 3"#))
        #expect(metrics.contains(#"homelab_agent_posted_events_total{node="nas",result="accepted"} 2"#))
    }

    /// With no observer to take the events, the post is answered 503 and its file stays; once
    /// an observer logs it, the client's retry is answered `duplicate`: nothing lost, nothing twice.
    @Test func aPostTheObserverHasNotTakenIs503AndItsRetryADuplicate() throws {
        let fixture = try UIFixture(ingestWait: .milliseconds(300))
        let auth = "Authorization: Bearer \(token(fixture, "nas"))"
        let body = "[" + event("w1") + "," + event("w2") + "]"
        let (status, response) = fixture.request("POST", "/api/events", headers: [auth, Self.batch], body: body)
        #expect(status == 503)
        #expect(response.contains("Retry-After: 1"))
        #expect(listDirectory(fixture.root.posted).filter { !$0.name.hasPrefix(".") }.count == 1)

        // An observer of its own, as a restarted one would be, takes the file.
        let reactor = try Reactor()
        defer { reactor.shutdown() }
        let configuration = try Configuration(environment: ["HOMELAB_ROOT": fixture.root.path, "HOMELAB_HEARTBEAT_SECONDS": "3600"])
        let observer = ObserverService(configuration: configuration, logger: Logger(service: "observer", level: .error))
        try observer.start(on: reactor)
        defer { observer.shutdown() }
        #expect(try reactor.run(until: { logged(fixture).count == 2 }, timeout: .seconds(10)))
        #expect(try reactor.run(until: { listDirectory(fixture.root.posted).allSatisfy { $0.name.hasPrefix(".") } }, timeout: .seconds(10)))

        // The retry goes through the observer again (answered only once it has looked).
        nonisolated(unsafe) var retry: (Int, String) = (0, "")
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            retry = fixture.request("POST", "/api/events", headers: [auth, Self.batch], body: body)
            done.signal()
        }
        #expect(try reactor.run(until: { done.wait(timeout: .now()) == .success }, timeout: .seconds(10)))
        #expect(retry.0 == 200)
        #expect(results(retry.1).map { $0["status"] as? String } == ["duplicate", "duplicate"])
        #expect(logged(fixture) == ["node/nas w1", "node/nas w2"])
    }
}
