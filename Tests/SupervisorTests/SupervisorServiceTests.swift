#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import FSWatch
import HomelabCore
@testable import Supervisor

@Suite(.serialized, .timeLimit(.minutes(2))) struct SupervisorServiceTests {
    @Test func eachDriftKindIsReportedAndRemediableOnesProposed() throws {
        let fixture = try SupervisorFixture()
        fixture.desire("nas/jellyfin.json", SupervisorFixture.container("nas/jellyfin"))
        fixture.desire("nas/sonarr.json", SupervisorFixture.container("nas/sonarr"))
        fixture.desire("pi/dns.json", SupervisorFixture.container("pi/dns", stale: 60))
        fixture.observe("container/nas/jellyfin", #"{"state":"exited","image":"app:1"}"#)
        fixture.observe("container/pi/dns", #"{"state":"running","image":"app:1"}"#, lastSeen: Timestamp.now().adding(seconds: -120))
        fixture.observe("container/nas/stray", #"{"state":"running"}"#)
        try fixture.start()
        let drifts = fixture.drifts()
        let kinds = Dictionary(uniqueKeysWithValues: drifts.map { ($0["resource"] as! String, $0["kind"] as! String) })
        #expect(kinds == ["container/nas/jellyfin": "mismatch", "container/nas/sonarr": "missing", "container/pi/dns": "stale", "container/nas/stray": "unmanaged"])
        let mismatch = drifts.first { $0["kind"] as? String == "mismatch" }!
        #expect((mismatch["fields"] as? [[String: Any]])?.first?["observed"] as? String == "exited")
        // jellyfin (state → docker-start) and sonarr (missing → compose-up); dns has no stale rule, stray is never acted on.
        #expect(fixture.actions(.pending).count == 2)
        let start = fixture.actions(.pending).map { fixture.action(.pending, $0) }.first { $0["action"] as? String == "docker-start" }!
        #expect(start["preview"] as? [String] == ["docker", "--context", "nas", "start", "jellyfin"])
        #expect(start["resource"] as? String == "container/nas/jellyfin")
        #expect(start["attempt"] as? Int == 1)
        #expect((start["drift"] as? [String: Any])?["kind"] as? String == "mismatch")
        #expect(mismatch["action"] as? String == start["id"] as? String)
        #expect(fixture.inboxEvents().filter { $0.type == "action.proposed" }.count == 2)
        #expect((fixture.driftReport()["desiredRevision"] as? String)?.hasPrefix("sha256:") == true)
    }

    @Test func reEvaluatingAHundredTimesKeepsOneProposal() throws {
        let fixture = try SupervisorFixture()
        fixture.desire("jellyfin.json", SupervisorFixture.container("nas/jellyfin"))
        fixture.observe("container/nas/jellyfin", #"{"state":"exited","image":"app:1"}"#)
        try fixture.start()
        for _ in 0..<100 { fixture.supervisor.evaluate(nil) }
        for seq in 2..<12 { fixture.observe("container/nas/jellyfin", #"{"state":"exited","image":"app:1"}"#, seq: seq) }
        try fixture.turn(for: .milliseconds(300))
        #expect(fixture.actions(.pending).count == 1)
        #expect(fixture.inboxEvents().filter { $0.type == "action.proposed" }.count == 1)
    }

    @Test func aPendingProposalIsSupersededWhenTheWorldCatchesUp() throws {
        let fixture = try SupervisorFixture()
        fixture.desire("jellyfin.json", SupervisorFixture.container("nas/jellyfin"))
        fixture.observe("container/nas/jellyfin", #"{"state":"exited","image":"app:1"}"#)
        try fixture.start()
        let id = try #require(fixture.actions(.pending).first)
        fixture.observe("container/nas/jellyfin", #"{"state":"running","image":"app:1"}"#, seq: 2)
        #expect(try fixture.turn(until: { fixture.actions(.superseded) == [id] }))
        #expect(fixture.actions(.pending).isEmpty)
        #expect(fixture.action(.superseded, id)["supersededReason"] as? String == "the drift is gone: the world caught up")
        #expect(fixture.inboxEvents().contains { $0.type == "action.superseded" && $0.subject == "action/" + id })
        try fixture.turn(for: .milliseconds(50))
        #expect(fixture.drifts().isEmpty)
    }

    @Test func rollingTheRepositoryBackSupersedesAndProposesTheRightAction() throws {
        let fixture = try SupervisorFixture()
        try fixture.git("init", "-q", "-b", "main")
        fixture.desire("jellyfin.json", SupervisorFixture.container("nas/jellyfin", image: "jellyfin:10.8"))
        try fixture.git("add", "-A")
        try fixture.git("commit", "-q", "-m", "v1")
        let v1 = try fixture.gitHead()
        fixture.observe("container/nas/jellyfin", #"{"state":"running","image":"jellyfin:10.8"}"#)
        try fixture.start()
        #expect(fixture.actions(.pending).isEmpty)
        #expect(fixture.driftReport()["desiredRevision"] as? String == String(v1.prefix(12)))

        // v2 bumps the image: a mismatch on image → compose-up.
        fixture.desire("jellyfin.json", SupervisorFixture.container("nas/jellyfin", image: "jellyfin:10.9"))
        try fixture.git("commit", "-q", "-am", "v2")
        let v2 = try fixture.gitHead()
        #expect(try fixture.turn(until: { fixture.actions(.pending).count == 1 && fixture.driftReport()["desiredRevision"] as? String == String(v2.prefix(12)) }))
        let upgrade = fixture.actions(.pending)[0]
        #expect(fixture.action(.pending, upgrade)["action"] as? String == "compose-up")
        #expect(fixture.action(.pending, upgrade)["desiredRevision"] as? String == String(v2.prefix(12)))

        // The world half-follows (state goes down during the upgrade), then the repo is rolled back.
        fixture.observe("container/nas/jellyfin", #"{"state":"exited","image":"jellyfin:10.8"}"#, seq: 2)
        try fixture.turn(for: .milliseconds(50))
        try fixture.git("checkout", "-q", "HEAD~1")
        #expect(try fixture.turn(until: {
            fixture.actions(.superseded).contains(upgrade) && fixture.actions(.pending).count == 1
                && fixture.driftReport()["desiredRevision"] as? String == String(v1.prefix(12))
        }))
        #expect((fixture.action(.superseded, upgrade)["supersededReason"] as? String)?.hasPrefix("the desired state changed") == true)
        let restart = fixture.actions(.pending)[0]
        #expect(fixture.action(.pending, restart)["action"] as? String == "docker-start", "after the rollback only the state differs")
        #expect(fixture.driftReport()["desiredRevision"] as? String == String(v1.prefix(12)))
    }

    @Test func twoHundredFilesRewrittenAtOnceAreOneEvaluation() throws {
        let fixture = try SupervisorFixture()
        for i in 0..<200 { fixture.desire("c\(i).json", SupervisorFixture.container("nas/c\(i)")) }
        for i in 0..<200 { fixture.observe("container/nas/c\(i)", #"{"state":"running","image":"app:1"}"#) }
        try fixture.start()
        let before = fixture.supervisor.fullEvaluations
        for i in 0..<200 { fixture.desire("c\(i).json", SupervisorFixture.container("nas/c\(i)", image: "app:2")) }
        #expect(try fixture.turn(until: { fixture.actions(.pending).count == 200 }))
        try fixture.turn(for: .milliseconds(400))  // the proposals' own queue events: one more, debounced
        let evaluations = fixture.supervisor.fullEvaluations - before
        #expect(evaluations <= 2, "\(evaluations) full evaluations for one checkout")
        #expect(fixture.supervisor.fullEvaluations - before >= 1)
    }

    @Test func aResourceGoesStaleAtItsDeadlineWithoutPolling() throws {
        let fixture = try SupervisorFixture()
        fixture.desire("dns.json", SupervisorFixture.container("pi/dns", stale: 2, on: "stale"))
        let seen = Timestamp.now().adding(seconds: -1)
        fixture.observe("container/pi/dns", #"{"state":"running","image":"app:1"}"#, lastSeen: seen)
        try fixture.start()
        try fixture.turn(for: .milliseconds(50))
        #expect(fixture.drifts().isEmpty)
        let deadline = seen.adding(seconds: 2)
        // One blocking wait: the loop sleeps in a single epoll_wait until the stale timer,
        // and wakes for nothing before it.
        let turns = fixture.reactor.turns
        try fixture.reactor.runOnce(timeout: nil)
        let woke = Timestamp.now()
        #expect(fixture.reactor.turns == turns + 1)
        #expect(woke >= deadline, "woke \(woke.seconds(until: deadline)) s before the deadline")
        #expect(deadline.seconds(until: woke) < 0.2, "woke \(deadline.seconds(until: woke)) s late")
        #expect(try fixture.turn(until: { !fixture.actions(.pending).isEmpty && !fixture.drifts().isEmpty }))
        #expect(fixture.drifts().first?["kind"] as? String == "stale")
    }

    /// A producer's clock in the year 2400 used to make a stale deadline whose delay did not
    /// fit in a Duration: the supervisor trapped, and again after every restart.
    @Test func aLastSeenCenturiesAheadIsAWakeUpWithinADay() throws {
        let fixture = try SupervisorFixture()
        fixture.desire("dns.json", SupervisorFixture.container("pi/dns", stale: 30, on: "stale"))
        fixture.observe("container/pi/dns", #"{"state":"running","image":"app:1"}"#, lastSeen: Timestamp(rfc3339: "2400-01-01T00:00:00Z")!)
        try fixture.start()
        try fixture.turn(for: .milliseconds(50))
        #expect(fixture.drifts().isEmpty)
        #expect(fixture.supervisor.fullEvaluations == 1)
    }

    @Test func autoApprovedActionsGoStraightToApprovedByPolicy() throws {
        let fixture = try SupervisorFixture()
        fixture.catalog("docker-start", #"{"argv":["docker","--context","{host}","start","{container}"],"params":{"host":"^[a-z0-9-]+$","container":"^[A-Za-z0-9_.-]+$"},"autoApprove":true}"#)
        fixture.desire("jellyfin.json", SupervisorFixture.container("nas/jellyfin"))
        fixture.observe("container/nas/jellyfin", #"{"state":"exited","image":"app:1"}"#)
        try fixture.start()
        #expect(fixture.actions(.pending).isEmpty)
        let id = try #require(fixture.actions(.approved).first)
        #expect(fixture.action(.approved, id)["approvedBy"] as? String == "policy")
        let approvals = fixture.inboxEvents().filter { $0.type == "action.approved" }
        #expect(approvals.count == 1 && approvals[0].data["actor"] as? String == "policy")
    }

    @Test func aFinishedActionWhoseDriftPersistsIsRetriedAfterABackoff() throws {
        let fixture = try SupervisorFixture()
        fixture.desire("jellyfin.json", SupervisorFixture.container("nas/jellyfin"))
        fixture.observe("container/nas/jellyfin", #"{"state":"exited","image":"app:1"}"#)
        var settings = SupervisorService.Settings()
        settings.retryBackoffSeconds = 0.5
        settings.debounce = .milliseconds(20)
        try fixture.start(settings: settings)
        let first = try #require(fixture.actions(.pending).first)
        // The executor ran it (and it "succeeded") but the container is still down.
        var file = fixture.action(.pending, first)
        file["result"] = ["exitCode": 0, "finishedAt": Timestamp.now().iso8601Milliseconds]
        let data = try JSONSerialization.data(withJSONObject: file)
        fixture.write(fixture.root.actions(.done) + "/" + first + ".json", String(decoding: data, as: UTF8.self))
        unlink(fixture.root.actions(.pending) + "/" + first + ".json")
        try fixture.turn(for: .milliseconds(200))
        #expect(fixture.actions(.pending).isEmpty, "no retry before the back-off")
        #expect(try fixture.turn(until: { fixture.actions(.pending) == [first + "-2"] }, timeout: .seconds(5)))
        #expect(fixture.action(.pending, first + "-2")["attempt"] as? Int == 2)
    }

    @Test func anInvalidInventoryFileIsReportedAndTheRestStillEvaluated() throws {
        let fixture = try SupervisorFixture()
        fixture.desire("broken.json", #"{"kind":"container","name":"nas/x","spec":"#)
        fixture.desire("unknown-action.json", #"{"kind":"container","name":"nas/y","spec":{},"remediate":[{"on":"missing","action":"reboot-universe"}]}"#)
        fixture.desire("jellyfin.json", SupervisorFixture.container("nas/jellyfin"))
        try fixture.start()
        let problems = fixture.driftReport()["problems"] as? [[String: Any]] ?? []
        #expect(problems.map { $0["file"] as? String } == ["resources/broken.json", "resources/unknown-action.json"])
        #expect((problems[1]["reason"] as? String)?.contains("no action \"reboot-universe\"") == true)
        #expect(fixture.drifts().map { $0["resource"] as? String } == ["container/nas/jellyfin"])
    }

    @Test func aMissingInventoryFolderIsAClearStartUpError() throws {
        let fixture = try SupervisorFixture()
        try FileManager.default.removeItem(atPath: fixture.inventory)
        #expect { try fixture.start() } throws: { "\($0)".contains("the inventory folder \(fixture.inventory) does not exist") }
    }
}
