import Testing
import HomelabCore
@testable import Supervisor

private func desired(_ json: String) -> DesiredResource {
    try! DesiredResource.parse(Array(json.utf8), catalog: [:]).get()
}

private func observed(_ json: String, lastSeen: Timestamp? = .now()) -> Observed {
    Observed(properties: try! JSONParser.parse(Array(json.utf8)).object!, lastSeen: lastSeen)
}

@Suite(.timeLimit(.minutes(2))) struct DriftTests {
    let jellyfin = desired(#"{"kind":"container","name":"nas/jellyfin","spec":{"state":"running","image":"jf:10","ports":{"http":8096}},"staleAfterSeconds":600}"#)

    @Test func missingWhenTheWorldHasNoSuchResource() {
        let drift = Drift.of(jellyfin, nil, now: .now())
        #expect(drift.map(\.kind) == [.missing])
        #expect(drift[0].fields.map(\.field) == ["state", "image", "ports"])
    }

    @Test func mismatchListsEachDifferingFieldWithBothValues() {
        let drift = Drift.of(jellyfin, observed(#"{"state":"exited","image":"jf:10","ports":{"http":8096,"https":8920},"extra":1}"#), now: .now())
        #expect(drift.map(\.kind) == [.mismatch])
        #expect(drift[0].fields == [Drift.Field(field: "state", desired: .string("running"), observed: .string("exited"))])
    }

    @Test func objectsCompareOnTheKeysTheSpecNamesAndNumbersByValue() {
        #expect(Drift.of(jellyfin, observed(#"{"state":"running","image":"jf:10","ports":{"http":8096.0,"https":1}}"#), now: .now()).isEmpty)
        let missingKey = Drift.of(jellyfin, observed(#"{"state":"running","image":"jf:10","ports":{}}"#), now: .now())
        #expect(missingKey.first?.fields.map(\.field) == ["ports"])
    }

    @Test func staleOnlyPastItsDeadline() {
        let seen = Timestamp.now().adding(seconds: -599)
        let fresh = observed(#"{"state":"running","image":"jf:10","ports":{"http":8096}}"#, lastSeen: seen)
        #expect(Drift.of(jellyfin, fresh, now: .now()).isEmpty)
        #expect(Drift.staleDeadline(jellyfin, fresh) == seen.adding(seconds: 600))
        #expect(Drift.of(jellyfin, fresh, now: .now().adding(seconds: 2)).map(\.kind) == [.stale])
    }

    @Test func timestampsParseAsRFC3339() {
        #expect(Timestamp(rfc3339: "2026-11-26T15:00:00Z") == Timestamp(secondsSinceEpoch: 1_795_705_200))
        #expect(Timestamp(rfc3339: "2026-11-26T16:00:00.5+01:00") == Timestamp(secondsSinceEpoch: 1_795_705_200, nanoseconds: 500_000_000))
        #expect(Timestamp(rfc3339: "26 Nov 2026") == nil)
    }

    @Test func theResolverAllowsOnlyDeclaredParamsMatchingInFull() throws {
        let entry = try CatalogEntry.parse(name: "docker-start", Array(#"{"argv":["docker","--context","{host}","start","{container}"],"params":{"host":"^[a-z0-9-]+$","container":"[A-Za-z0-9_.-]+"}}"#.utf8)).get()
        #expect(try ActionResolver.resolve(entry, args: ["host": "nas", "container": "jellyfin"]).get() == ["docker", "--context", "nas", "start", "jellyfin"])
        for (args, reason) in [
            (["host": "nas"], "missing arg \"container\""),
            (["host": "nas", "container": "x", "user": "root"], "arg \"user\" is not a param"),
            (["host": "nas", "container": "x; rm -rf /"], "does not match"),
            (["host": "nas", "container": "$(id)"], "does not match"),
            (["host": "nas", "container": "../etc"], "does not match"),
            (["host": "nas\n", "container": "x"], "does not match"),
        ] {
            guard case .failure(let failure) = ActionResolver.resolve(entry, args: args) else { Issue.record("\(args) resolved"); continue }
            #expect(failure.description.contains(reason), "\(failure)")
        }
    }
}
