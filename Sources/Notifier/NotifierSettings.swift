import HomelabCore

/// The notifier's own settings (docs/notifications.md), from the environment beside SPEC §2's.
public struct NotifierSettings: Sendable {
    /// `HOMELAB_PUBLIC_URL`: the dashboard's address as the operator reaches it; messages link
    /// to `URL#/actions/ID`. Unset: messages carry no link.
    public var publicURL: String?
    /// `HOMELAB_NOTIFY_GROUP_MS` (default 2000): how long a storm is gathered into one message.
    public var groupWindow: Duration = .seconds(2)
    /// `HOMELAB_NOTIFY_BACKOFF_MAX_MS` (default 60000): the longest wait between two tries.
    public var longestBackoff: Duration = .seconds(60)
    /// `HOMELAB_NOTIFY_NODE_STALE_SECONDS`: a node unheard of this long is stale, unless its
    /// desired resource says `staleAfterSeconds` (default 4 heartbeat periods).
    public var nodeStaleSeconds: Int?

    public init() {}

    public init(environment: [String: String]) throws(ConfigurationError) {
        func milliseconds(_ name: String, _ range: ClosedRange<Int>) throws(ConfigurationError) -> Duration? {
            guard let text = environment[name], !text.isEmpty else { return nil }
            guard let value = Int(text), range.contains(value) else {
                throw ConfigurationError(variable: name, reason: "\"\(text)\" is not a whole number of milliseconds between \(range.lowerBound) and \(range.upperBound)")
            }
            return .milliseconds(value)
        }
        if let url = environment["HOMELAB_PUBLIC_URL"], !url.isEmpty {
            guard url.hasPrefix("http://") || url.hasPrefix("https://"), !url.contains(" ") else {
                throw ConfigurationError(variable: "HOMELAB_PUBLIC_URL", reason: "\"\(url)\" is not an http:// or https:// URL")
            }
            publicURL = url.hasSuffix("/") ? url : url + "/"
        }
        if let window = try milliseconds("HOMELAB_NOTIFY_GROUP_MS", 0...60_000) { groupWindow = window }
        if let longest = try milliseconds("HOMELAB_NOTIFY_BACKOFF_MAX_MS", 10...3_600_000) { longestBackoff = longest }
        if let text = environment["HOMELAB_NOTIFY_NODE_STALE_SECONDS"], !text.isEmpty {
            guard let seconds = Int(text), seconds > 0, seconds <= 86_400 else {
                throw ConfigurationError(variable: "HOMELAB_NOTIFY_NODE_STALE_SECONDS", reason: "\"\(text)\" is not a whole number of seconds between 1 and 86400")
            }
            nodeStaleSeconds = seconds
        }
    }
}
