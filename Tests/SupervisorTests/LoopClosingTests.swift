#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import FSWatch
import HomelabCore
@testable import Supervisor

/// SPEC §12 in the supervisor: verification after success, crash loops, back-off made
/// visible, and an operator's request for a proposal now.
@Suite(.serialized, .timeLimit(.minutes(1))) struct LoopClosingTests {
    private func settings() -> SupervisorService.Settings {
        var settings = SupervisorService.Settings()
        settings.debounce = .milliseconds(20)
        settings.verifySettleSeconds = 0.3
        return settings
    }

    /// The executor's part: the pending action moved to done/ with a successful result.
    private func succeed(_ fixture: SupervisorFixture, _ id: String) throws {
        var file = fixture.action(.pending, id)
        file["result"] = ["exitCode": 0, "finishedAt": Timestamp.now().iso8601Milliseconds]
        let data = try JSONSerialization.data(withJSONObject: file)
        fixture.write(fixture.root.action(id, in: .done), String(decoding: data, as: UTF8.self))
        unlink(fixture.root.action(id, in: .pending))
    }

    /// jellyfin exited, its docker-start proposed and run successfully: what is left is the verdict.
    private func succeededStart(verifyWithinSeconds: Int) throws -> (SupervisorFixture, String) {
        let fixture = try SupervisorFixture()
        fixture.catalog("docker-start", #"{"argv":["docker","start","{container}"],"params":{"host":"^[a-z]+$","container":"^[a-z]+$"},"verifyWithinSeconds":\#(verifyWithinSeconds)}"#)
        fixture.desire("jellyfin.json", SupervisorFixture.container("nas/jellyfin"))
        fixture.observe("container/nas/jellyfin", #"{"state":"exited","image":"app:1"}"#)
        try fixture.start(settings: settings())
        let id = try #require(fixture.actions(.pending).first)
        try succeed(fixture, id)
        return (fixture, id)
    }

    private func verdicts(_ fixture: SupervisorFixture) -> [(type: String, subject: String, data: [String: Any])] {
        fixture.inboxEvents().filter { $0.type == "action.verified" || $0.type == "action.unverified" }
    }

    @Test func anActionWhoseDriftIsGoneIsVerified() throws {
        let (fixture, id) = try succeededStart(verifyWithinSeconds: 5)
        try fixture.turn(for: .milliseconds(100))
        fixture.observe("container/nas/jellyfin", #"{"state":"running","image":"app:1"}"#, seq: 2)
        #expect(try fixture.turn(until: { !verdicts(fixture).isEmpty }, timeout: .seconds(3)))
        let verdict = try #require(verdicts(fixture).first)
        #expect(verdict.type == "action.verified" && verdict.subject == "action/" + id)
        #expect(verdict.data["actor"] as? String == "supervisor")
    }

    @Test func anActionThatLeavesTheDriftIsUnverifiedAtItsDeadline() throws {
        let (fixture, id) = try succeededStart(verifyWithinSeconds: 1)
        // It started and exited at once: running for a moment, shorter than the settle.
        try fixture.turn(for: .milliseconds(100))
        fixture.observe("container/nas/jellyfin", #"{"state":"running","image":"app:1"}"#, seq: 2)
        try fixture.turn(for: .milliseconds(50))
        fixture.observe("container/nas/jellyfin", #"{"state":"exited","image":"app:1"}"#, seq: 3)
        #expect(try fixture.turn(until: { !verdicts(fixture).isEmpty }, timeout: .seconds(3)))
        #expect(verdicts(fixture).map(\.type) == ["action.unverified"])
        // The drift now waits for the back-off, and says so.
        try fixture.turn(for: .milliseconds(100))
        let wait = try #require(fixture.drifts().first?["wait"] as? [String: Any])
        #expect(wait["reason"] as? String == "backoff" && wait["detail"] as? String == "back-off after attempt 1")
        #expect(wait["nextAttemptAt"] is String)
    }

    @Test func aVerificationInterruptedByARestartIsFinishedFromTheQueue() throws {
        let fixture = try SupervisorFixture()
        fixture.catalog("docker-start", #"{"argv":["docker","start","{container}"],"params":{"host":"^[a-z]+$","container":"^[a-z]+$"},"verifyWithinSeconds":1}"#)
        fixture.desire("jellyfin.json", SupervisorFixture.container("nas/jellyfin"))
        fixture.observe("container/nas/jellyfin", #"{"state":"exited","image":"app:1"}"#)
        // What a supervisor that died while verifying left: a done action, no verdict in its trail.
        let finished = Timestamp.now().adding(seconds: -0.5).iso8601Milliseconds
        fixture.write(fixture.root.action("abc", in: .done), #"{"id":"abc","action":"docker-start","args":{"host":"nas","container":"jellyfin"},"resource":"container/nas/jellyfin","drift":{"kind":"mismatch","fields":[{"field":"state","desired":"running","observed":"exited"}]},"attempt":1,"result":{"exitCode":0,"finishedAt":"\#(finished)"}}"#)
        try fixture.start(settings: settings())
        #expect(try fixture.turn(until: { verdicts(fixture).map(\.type) == ["action.unverified"] }, timeout: .seconds(3)))
        #expect(verdicts(fixture).first?.subject == "action/abc")
    }

    @Test func aContainerStoppedThreeTimesInAMinuteFlapsOnceWithoutAProposalStorm() throws {
        let fixture = try SupervisorFixture()
        fixture.desire("jellyfin.json", SupervisorFixture.container("nas/jellyfin"))
        fixture.observe("container/nas/jellyfin", #"{"state":"running","image":"app:1"}"#)
        try fixture.start(settings: settings())
        var seq = 2
        for _ in 0..<3 {
            fixture.observe("container/nas/jellyfin", #"{"state":"exited","image":"app:1"}"#, seq: seq)
            try fixture.turn(for: .milliseconds(60))
            // The operator (or the restart policy) brings it back; it dies again.
            for id in fixture.actions(.pending) { unlink(fixture.root.action(id, in: .pending)) }
            fixture.observe("container/nas/jellyfin", #"{"state":"running","image":"app:1"}"#, seq: seq + 1)
            try fixture.turn(for: .milliseconds(60))
            seq += 2
        }
        fixture.observe("container/nas/jellyfin", #"{"state":"exited","image":"app:1"}"#, seq: seq)
        try fixture.turn(for: .milliseconds(200))
        let entry = try #require(fixture.drifts().first)
        #expect(entry["flapping"] as? Bool == true)
        #expect((entry["wait"] as? [String: Any])?["reason"] as? String == "flapping")
        #expect(fixture.inboxEvents().filter { $0.type == "drift.flapping" }.count == 1)
        let proposals = fixture.inboxEvents().filter { $0.type == "action.proposed" }.count
        #expect(fixture.actions(.pending).isEmpty, "no new proposal while it flaps")

        // The operator asks: a proposal now, in their name.
        let request = ProposalRequest(resource: try Subject.parse("container/nas/jellyfin").get(), operatorName: "oskar", remote: "shell")
        #expect(try ProposalRequest.submit(request, root: fixture.root) == .requested)
        #expect(try fixture.turn(until: { fixture.actions(.pending).count == 1 }, timeout: .seconds(3)))
        let proposed = fixture.inboxEvents().filter { $0.type == "action.proposed" }
        #expect(proposed.count == proposals + 1 && proposed.last?.data["actor"] as? String == "oskar")
        #expect(listDirectory(fixture.root.proposeRequests).isEmpty, "the request is taken")
    }

    @Test func aRequestForAResourceWithoutRemediableDriftIsRefusedAtOnce() throws {
        let fixture = try SupervisorFixture()
        fixture.desire("jellyfin.json", SupervisorFixture.container("nas/jellyfin"))
        fixture.observe("container/nas/jellyfin", #"{"state":"running","image":"app:1"}"#)
        try fixture.start(settings: settings())
        let request = ProposalRequest(resource: try Subject.parse("container/nas/jellyfin").get(), operatorName: "oskar", remote: "shell")
        #expect(try ProposalRequest.submit(request, root: fixture.root) == .nothingToPropose)
    }

    @Test func aRejectedProposalSaysSoAndIsProposedAgainWhenAnOperatorAsks() throws {
        let fixture = try SupervisorFixture()
        fixture.desire("jellyfin.json", SupervisorFixture.container("nas/jellyfin"))
        fixture.observe("container/nas/jellyfin", #"{"state":"exited","image":"app:1"}"#)
        try fixture.start(settings: settings())
        let id = try #require(fixture.actions(.pending).first)
        #expect(rename(fixture.root.action(id, in: .pending), fixture.root.action(id, in: .rejected)) == 0)
        #expect(try fixture.turn(until: { ((fixture.drifts().first?["wait"] as? [String: Any])?["reason"] as? String) == "rejected" }, timeout: .seconds(3)))
        let request = ProposalRequest(resource: try Subject.parse("container/nas/jellyfin").get(), operatorName: "oskar", remote: "shell")
        #expect(try ProposalRequest.submit(request, root: fixture.root) == .requested)
        #expect(try fixture.turn(until: { fixture.actions(.pending) == [id + "-2"] }, timeout: .seconds(3)))
    }
}
