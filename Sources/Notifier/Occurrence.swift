import HomelabCore

/// Something that deserves a message (docs/notifications.md, "What is worth a message"): one
/// event of the log, or one deadline passed. `group` is what a storm shares (the rule and the
/// node): occurrences of one group within the grouping window become one message.
struct Occurrence: Equatable {
    enum Rule: String, CaseIterable {
        case proposal
        case actionFailed = "action-failed"
        case actionUnverified = "action-unverified"
        case flapping
        case nodeStale = "node-stale"
        case nodeBack = "node-back"
        case serviceDown = "service-down"
        case serviceBack = "service-back"
        case spoolGap = "spool-gap"
        case ingestPaused = "ingest-paused"
        case ingestResumed = "ingest-resumed"
        case test

        var severity: Severity {
            switch self {
            case .proposal, .spoolGap: .warning
            case .actionFailed, .actionUnverified, .flapping, .nodeStale, .serviceDown, .ingestPaused: .critical
            case .nodeBack, .serviceBack, .ingestResumed, .test: .info
            }
        }

        /// Storm-prone rules wait for the grouping window; the others go at once (they are
        /// rare, and the state that says they were sent must not run ahead of the outbox).
        var isGrouped: Bool { self == .proposal || self == .actionFailed || self == .actionUnverified || self == .flapping }

        /// What a grouped message of `count` says: "12 proposals waiting".
        func plural(_ count: Int) -> String {
            switch self {
            case .proposal: "\(count) proposals waiting"
            case .actionFailed: "\(count) actions failed"
            case .actionUnverified: "\(count) actions unverified"
            case .flapping: "\(count) resources flapping"
            default: "\(count) × \(rawValue)"
            }
        }

        var tags: [String] {
            switch self {
            case .proposal: ["homelab", "proposal"]
            case .actionFailed, .actionUnverified: ["homelab", "warning"]
            case .flapping: ["homelab", "repeat"]
            case .nodeStale, .serviceDown, .ingestPaused, .spoolGap: ["homelab", "rotating_light"]
            case .nodeBack, .serviceBack, .ingestResumed: ["homelab", "white_check_mark"]
            case .test: ["homelab", "test_tube"]
            }
        }
    }

    let rule: Rule
    /// The resource (or `service/NAME`, `action/ID`) it is about.
    let subject: String
    /// What triggered it, unique per occurrence: `seq:N`, or a time for deadline-driven ones.
    let trigger: String
    /// The log seq it came from (0 for deadline-driven ones): the cursor waits for it.
    let seq: Int
    let title: String
    let body: String
    let click: String?

    /// One line for a grouped message.
    var line: String { title }

    /// The node a subject belongs to (`container/NODE/…`, `node/NODE`): a storm's scope.
    var group: String {
        let parts = subject.split(separator: "/")
        let scope = parts.count >= 2 && (parts[0] == "container" || parts[0] == "node") ? String(parts[1]) : "*"
        return rule.rawValue + "\u{0}" + scope
    }

    var scope: String? {
        let parts = subject.split(separator: "/")
        return parts.count >= 2 && (parts[0] == "container" || parts[0] == "node") ? String(parts[1]) : nil
    }
}
