#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import FSWatch
import HomelabCore
@testable import UI

/// Wrong tokens are throttled per peer; sessions expire and can all be revoked.
@Suite(.serialized, .timeLimit(.minutes(2))) struct OperatorAuthTests {
    private func cookie(from response: String) throws -> String {
        let setCookie = try #require(response.split(separator: "\r\n").first { $0.hasPrefix("Set-Cookie: ") })
        return "Cookie: " + String(setCookie.dropFirst("Set-Cookie: ".count).split(separator: ";")[0])
    }

    @Test func wrongTokensFromOnePeerAreThrottledAndOtherPeersAreNot() throws {
        let ui = try UIFixture()
        ui.pending("a1")
        for _ in 0..<5 {
            #expect(ui.request("POST", "/api/actions/a1/approve", headers: ["Authorization: Bearer guess"]).0 == 401)
        }
        // The sixth try from that address is not even compared, right token or not.
        let (status, response) = ui.request("POST", "/api/actions/a1/approve", headers: ["Authorization: Bearer s3cret"])
        #expect(status == 429, "\(response)")
        let retry = response.split(separator: "\r\n").first { $0.hasPrefix("Retry-After: ") }.flatMap { Int($0.dropFirst(13)) }
        #expect((retry ?? 0) >= 1)
        #expect(ui.request("POST", "/api/session", body: "s3cret").0 == 429)
        // Another address with the right token is unaffected.
        #expect(ui.request("POST", "/api/actions/a1/approve", headers: ["Authorization: Bearer s3cret"], from: "127.0.0.2").0 == 200)
        // Requests without a token are not guesses: reads still work from the throttled peer.
        #expect(ui.request("GET", "/summary").0 == 200)
    }

    @Test func theThrottleGrowsWithEachFurtherWrongToken() {
        var throttle = GuessThrottle()
        let start = MonotonicTime.now()
        var refusals: [Int] = []
        for second in 0..<8 {
            let now = start + .seconds(second * 10)
            if throttle.blocked("a", now: now) == nil, let seconds = throttle.failed("a", now: now) { refusals.append(seconds) }
        }
        #expect(refusals == [2, 4, 8, 16])
        #expect(throttle.blocked("b", now: start + .seconds(70)) == nil)
        throttle.succeeded("a")
        #expect(throttle.blocked("a", now: start + .seconds(71)) == nil)
    }

    @Test func aSessionExpiresAndDeletingTheSessionSecretSignsEveryoneOut() throws {
        let ui = try UIFixture(protectReads: true)
        let (status, response) = ui.request("POST", "/api/session", headers: ["Sec-Fetch-Site: same-origin"], body: "s3cret")
        #expect(status == 204)
        #expect(response.contains("; Max-Age=43200;"), "\(response)")
        let session = try cookie(from: response)
        #expect(ui.request("GET", "/summary", headers: [session]).0 == 200)
        var info = stat()
        #expect(stat(ui.root.sessionSecret, &info) == 0 && info.st_mode & 0o777 == 0o600)

        // One signed with the same key but already expired is refused on the server's side.
        let expired = try OperatorAuth(token: "s3cret", secretPath: ui.root.sessionSecret, logger: Logger(service: "ui", level: .error), sessionLifetime: -1).newSession()
        #expect(ui.request("GET", "/summary", headers: ["Cookie: homelab_session=\(expired.value)"]).0 == 401)
        // A forged expiry breaks the MAC.
        let forged = "Cookie: homelab_session=9999999999." + session.split(separator: ".").last!
        #expect(ui.request("GET", "/summary", headers: [forged]).0 == 401)

        unlink(ui.root.sessionSecret)
        #expect(ui.request("GET", "/summary", headers: [session]).0 == 401, "revoked with the secret")
        let again = try cookie(from: ui.request("POST", "/api/session", body: "s3cret").1)
        #expect(ui.request("GET", "/summary", headers: [again]).0 == 200)
        #expect(ui.request("GET", "/summary", headers: [session]).0 == 401, "the old one stays revoked")
    }
}
