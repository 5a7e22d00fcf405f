/// The dashboard: `Resources/dashboard.{html,css,js}`, compiled into the binary by SwiftPM's
/// `embedInCode` and served as they are. Script and style are files of their own, not inline,
/// so the page runs under a Content-Security-Policy of `script-src 'self'; style-src 'self'`.
enum Dashboard {
    // The page is `no-store` and its assets `no-cache`: their URLs carry no version, so a
    // browser must never pair a new page with the script of the binary it replaced.
    static let page = response(PackageResources.dashboard_html, type: "text/html; charset=utf-8", cache: "no-store")
    static let style = response(PackageResources.dashboard_css, type: "text/css; charset=utf-8", cache: "no-cache")
    static let script = response(PackageResources.dashboard_js, type: "text/javascript; charset=utf-8", cache: "no-cache")

    /// Served without the token even under `HOMELAB_UI_AUTH=all`: the page is where it is entered.
    static let paths: Set<String> = ["/", "/dashboard.css", "/dashboard.js"]

    private static func response(_ bytes: [UInt8], type: String, cache: String) -> HTTPResponse {
        HTTPResponse(status: 200, headers: [("Content-Type", type), ("Cache-Control", cache)], body: bytes)
    }
}
