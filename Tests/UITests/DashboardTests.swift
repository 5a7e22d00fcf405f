import Foundation
import Testing
@testable import UI

/// The page and its files: each its own route, no inline script or style, so a
/// Content-Security-Policy of `default-src 'self'` holds; no way for text to become markup;
/// the session the page asks about, and its sign-out.
@Suite(.serialized, .timeLimit(.minutes(2))) struct DashboardTests {
    private func split(_ response: String) -> (head: String, body: String) {
        let parts = response.components(separatedBy: "\r\n\r\n")
        return (parts[0], parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    @Test(arguments: [
        ("/", "text/html; charset=utf-8", "no-store", PackageResources.dashboard_html),
        ("/dashboard.css", "text/css; charset=utf-8", "no-cache", PackageResources.dashboard_css),
        ("/dashboard.js", "text/javascript; charset=utf-8", "no-cache", PackageResources.dashboard_js),
        ("/dashboard-dom.js", "text/javascript; charset=utf-8", "no-cache", PackageResources.dashboard_dom_js),
        ("/dashboard-charts.js", "text/javascript; charset=utf-8", "no-cache", PackageResources.dashboard_charts_js),
        ("/dashboard-panels.js", "text/javascript; charset=utf-8", "no-cache", PackageResources.dashboard_panels_js),
        ("/dashboard-history.js", "text/javascript; charset=utf-8", "no-cache", PackageResources.dashboard_history_js),
    ])
    func eachFileIsServedWithItsTypeOnGetAndHeadOnly(path: String, type: String, cache: String, bytes: [UInt8]) throws {
        let ui = try UIFixture()
        let (status, response) = ui.request("GET", path)
        let (head, body) = split(response)
        #expect(status == 200)
        #expect(head.contains("\r\nContent-Type: \(type)\r\n"))
        #expect(head.contains("\r\nCache-Control: \(cache)\r\n"))
        #expect(Array(body.utf8) == bytes)
        let (headStatus, headResponse) = ui.request("HEAD", path)
        #expect(headStatus == 200 && split(headResponse).body.isEmpty)
        #expect(headResponse.contains("\r\nContent-Length: \(bytes.count)\r\n"))
        #expect(ui.request("POST", path).0 == 405)
    }

    static let scripts = [PackageResources.dashboard_dom_js, PackageResources.dashboard_charts_js, PackageResources.dashboard_panels_js,
                          PackageResources.dashboard_history_js, PackageResources.dashboard_js].map { String(decoding: $0, as: UTF8.self) }

    @Test func thePageLoadsItsScriptsAndStyleFromTheirOwnFiles() {
        let page = String(decoding: PackageResources.dashboard_html, as: UTF8.self)
        #expect(page.contains(#"<link rel="stylesheet" href="/dashboard.css">"#))
        let scripts = Dashboard.assets.keys.filter { $0.hasSuffix(".js") }
        for path in scripts { #expect(page.contains(#"<script src="\#(path)"></script>"#), "\(path)") }
        #expect(!page.contains("<style"))
        #expect(page.components(separatedBy: "<script").count == scripts.count + 1, "every script is a file, none inline")
        #expect(!page.contains(" style="))
        // Handlers as attributes (onclick=, onsubmit=, …) would be inline script too.
        #expect(page.range(of: #"\son[a-z]+="#, options: .regularExpression) == nil)
        for script in Self.scripts { #expect(!script.contains(" style=")) }
    }

    /// Text from the world only ever goes in as `textContent`: no API that parses markup.
    @Test func noScriptParsesMarkup() {
        for script in Self.scripts {
            for api in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "createContextualFragment", "DOMParser", "eval("] {
                #expect(!script.contains(api), "\(api)")
            }
        }
    }

    @Test func theSessionSurvivesAReloadAndSignOutForgetsIt() throws {
        let ui = try UIFixture(protectReads: true)
        #expect(ui.request("GET", "/api/session").1.hasSuffix(#"{"signedIn":false}"#), "open even when reads need the token")
        let (status, response) = ui.request("POST", "/api/session", headers: ["Sec-Fetch-Site: same-origin"], body: "s3cret")
        #expect(status == 204)
        let setCookie = try #require(response.split(separator: "\r\n").first { $0.hasPrefix("Set-Cookie: ") })
        let cookie = "Cookie: " + String(setCookie.dropFirst("Set-Cookie: ".count).split(separator: ";")[0])
        let (sessionStatus, session) = ui.request("GET", "/api/session", headers: [cookie])
        #expect(sessionStatus == 200 && session.hasSuffix(#"{"signedIn":true}"#))
        #expect(session.contains("\r\nCache-Control: no-store\r\n"))
        #expect(ui.request("GET", "/api/session", headers: ["Cookie: homelab_session=1.forged"]).1.hasSuffix(#"{"signedIn":false}"#))

        #expect(ui.request("POST", "/api/session/logout", headers: ["Sec-Fetch-Site: cross-site", cookie]).0 == 403)
        let (outStatus, out) = ui.request("POST", "/api/session/logout", headers: ["Sec-Fetch-Site: same-origin", cookie])
        #expect(outStatus == 204)
        #expect(out.contains("\r\nSet-Cookie: homelab_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict\r\n"))
        #expect(ui.request("GET", "/api/session/logout").0 == 405)
    }

    @Test func driftHistoryKeepsASampleWhenTheCountsChange() throws {
        let ui = try UIFixture()
        let first = ui.request("GET", "/api/drift/history")
        #expect(first.0 == 200 && first.1.contains(#""samples":[{"at":"#), "\(first.1)")
        let report = #"{"generatedAt":"2026-11-26T15:00:01Z","desiredRevision":"r1","worldSeq":1,"drift":[{"resource":"container/nas/a","kind":"missing","fields":[]}]}"#
        try report.write(toFile: ui.root.driftReport, atomically: true, encoding: .utf8)
        let deadline = Date().addingTimeInterval(5)
        var body = ""
        repeat {
            Thread.sleep(forTimeInterval: 0.1)
            body = ui.request("GET", "/api/drift/history").1
        } while !body.contains(#""missing":1"#) && Date() < deadline
        #expect(body.contains(#""missing":1"#), "\(body)")
        #expect(body.components(separatedBy: #""at":"#).count == 3, "the empty start, then one missing")
    }

    @Test func thePageAndItsFilesNeedNoTokenWhenReadsDo() throws {
        let ui = try UIFixture(protectReads: true)
        #expect(ui.request("GET", "/summary").0 == 401)
        for path in ["/", "/dashboard.css", "/dashboard.js"] {
            #expect(ui.request("GET", path).0 == 200, "\(path)")
        }
    }
}
