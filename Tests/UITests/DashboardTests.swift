import Foundation
import Testing
@testable import UI

/// The page and its two files: each its own route, and no inline script or style left, so a
/// Content-Security-Policy of `script-src 'self'; style-src 'self'` can be turned on.
@Suite(.serialized, .timeLimit(.minutes(2))) struct DashboardTests {
    private func split(_ response: String) -> (head: String, body: String) {
        let parts = response.components(separatedBy: "\r\n\r\n")
        return (parts[0], parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    @Test(arguments: [
        ("/", "text/html; charset=utf-8", "no-store", PackageResources.dashboard_html),
        ("/dashboard.css", "text/css; charset=utf-8", "no-cache", PackageResources.dashboard_css),
        ("/dashboard.js", "text/javascript; charset=utf-8", "no-cache", PackageResources.dashboard_js),
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

    @Test func thePageLoadsItsScriptAndStyleFromTheirOwnFiles() {
        let page = String(decoding: PackageResources.dashboard_html, as: UTF8.self)
        #expect(page.contains(#"<link rel="stylesheet" href="/dashboard.css">"#))
        #expect(page.contains(#"<script src="/dashboard.js"></script>"#))
        #expect(!page.contains("<style"))
        #expect(page.components(separatedBy: "<script").count == 2)
        #expect(!page.contains(" style="))
        // Handlers as attributes (onclick=, onsubmit=, …) would be inline script too.
        #expect(page.range(of: #"\son[a-z]+="#, options: .regularExpression) == nil)
        #expect(!String(decoding: PackageResources.dashboard_js, as: UTF8.self).contains(" style="))
    }

    @Test func thePageAndItsFilesNeedNoTokenWhenReadsDo() throws {
        let ui = try UIFixture(protectReads: true)
        #expect(ui.request("GET", "/summary").0 == 401)
        for path in ["/", "/dashboard.css", "/dashboard.js"] {
            #expect(ui.request("GET", path).0 == 200, "\(path)")
        }
    }
}
