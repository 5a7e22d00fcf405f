#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import FSWatch
import HomelabCore
@testable import UI

/// `POST /api/propose`: the operator's "propose now", with approve's token and origin rules.
@Suite(.serialized, .timeLimit(.minutes(1))) struct ProposeRequestTests {
    private let drift = #"{"generatedAt":"2026-11-30T08:00:00Z","desiredRevision":"x","worldSeq":3,"drift":[{"resource":"container/nas/jellyfin","kind":"mismatch","fields":[{"field":"state","desired":"running","observed":"exited"}],"action":"abc","flapping":true,"wait":{"reason":"flapping","detail":"left the desired state 3 times within 600 s","nextAttemptAt":"2026-11-30T08:10:00Z"}}],"problems":[]}"#

    @Test func aResourceWithRemediableDriftIsRequestedAndAFileWaitsForTheSupervisor() throws {
        let ui = try UIFixture()
        try AtomicFile.write(drift, to: ui.root.driftReport)
        let body = #"{"resource":"container/nas/jellyfin"}"#
        #expect(ui.request("POST", "/api/propose", body: body).0 == 401)
        #expect(ui.request("POST", "/api/propose", headers: ["Authorization: Bearer s3cret", "Origin: http://evil.example"], body: body).0 == 403)
        let (status, response) = ui.request("POST", "/api/propose", headers: ["Authorization: Bearer s3cret", "X-Operator: oskar"], body: body)
        #expect(status == 202, "\(response)")
        #expect(response.hasSuffix(#"{"requested":"container/nas/jellyfin"}"#))
        let files = listDirectory(ui.root.proposeRequests).filter { $0.name.hasSuffix(".json") }
        #expect(files.count == 1)
        let request = try #require(ProposalRequest.read(ui.root.proposeRequests + "/" + files[0].name))
        #expect(request.resource.description == "container/nas/jellyfin" && request.operatorName == "oskar")
    }

    @Test func aResourceWithoutRemediableDriftIs404AndABadBody400() throws {
        let ui = try UIFixture()
        try AtomicFile.write(drift, to: ui.root.driftReport)
        let auth = ["Authorization: Bearer s3cret"]
        let (status, response) = ui.request("POST", "/api/propose", headers: auth, body: #"{"resource":"container/nas/sonarr"}"#)
        #expect(status == 404 && response.contains(#"{"error":"#))
        #expect(ui.request("POST", "/api/propose", headers: auth, body: "not json").0 == 400)
        #expect(ui.request("GET", "/api/propose").0 == 405)
        #expect(listDirectory(ui.root.proposeRequests).isEmpty)
    }
}
