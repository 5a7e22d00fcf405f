/// The dashboard: `Resources/dashboard.html`, its style sheet and its scripts, compiled into
/// the binary by SwiftPM's `embedInCode` and served as they are. Script and style are files of
/// their own, not inline, so the page runs under a Content-Security-Policy of `default-src 'self'`.
enum Dashboard {
    // The page is `no-store` and its assets `no-cache`: their URLs carry no version, so a
    // browser must never pair a new page with the script of the binary it replaced.
    static let page = response(PackageResources.dashboard_html, type: "text/html; charset=utf-8", cache: "no-store")

    /// Path → answer, for GET and HEAD. The scripts are classic scripts loaded in this order
    /// (the page's `<script>` tags), sharing one global scope: helpers first, the boot last.
    static let assets: [String: HTTPResponse] = [
        "/": page,
        "/dashboard.css": response(PackageResources.dashboard_css, type: css, cache: "no-cache"),
        "/dashboard-dom.js": response(PackageResources.dashboard_dom_js, type: js, cache: "no-cache"),
        "/dashboard-charts.js": response(PackageResources.dashboard_charts_js, type: js, cache: "no-cache"),
        "/dashboard-panels.js": response(PackageResources.dashboard_panels_js, type: js, cache: "no-cache"),
        "/dashboard-history.js": response(PackageResources.dashboard_history_js, type: js, cache: "no-cache"),
        "/dashboard.js": response(PackageResources.dashboard_js, type: js, cache: "no-cache"),
    ]

    /// Served without the token even under `HOMELAB_UI_AUTH=all`: the page is where it is entered.
    static let paths = Set(assets.keys)

    private static let css = "text/css; charset=utf-8"
    private static let js = "text/javascript; charset=utf-8"

    private static func response(_ bytes: [UInt8], type: String, cache: String) -> HTTPResponse {
        HTTPResponse(status: 200, headers: [("Content-Type", type), ("Cache-Control", cache)], body: bytes)
    }
}
