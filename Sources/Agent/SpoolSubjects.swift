/// Which subjects the spool still holds unacknowledged events of, in spool order: what lets a
/// live report overtake a backlog (docs/agent.md, "Reports ahead of a backlog"). A report may go
/// ahead only when nothing older about it waits — no event of its own subject and no snapshot
/// over it (`container/nas` covers `container/nas/*`) — and a snapshot only when nothing under
/// its prefix waits, so the world never folds an older state last. The copy sent ahead stays in
/// the spool; when the backlog reaches it, the receiver answers `duplicate`.
///
/// Subjects are kept as hashes: two that collide only make each other wait.
struct SpoolSubjects {
    private struct Entry {
        let exact: Int
        let prefix: Int
        let snapshot: Bool
    }

    /// Lines spooled before this process started: their subjects were never read here, so
    /// nothing goes ahead until they are acknowledged.
    private var unknown: Int
    private var entries: [Entry] = []
    private var head = 0
    private var exact: [Int: Int] = [:]
    private var prefixes: [Int: Int] = [:]
    private var snapshots: [Int: Int] = [:]

    init(unknown: Int) { self.unknown = unknown }

    /// The subject, and its first two segments (`container/nas`: what a snapshot names).
    private static func keys(_ subject: String?) -> (exact: Int, prefix: Int) {
        let subject = subject ?? ""
        let prefix = subject.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false).prefix(2).joined(separator: "/")
        return (subject.hashValue, prefix.hashValue)
    }

    /// Whether a report about `subject` may be sent ahead of what waits: asked before it is appended.
    func mayGoAhead(subject: String?, snapshot: Bool) -> Bool {
        guard unknown == 0, let subject, !subject.isEmpty else { return false }
        let (exactKey, prefixKey) = Self.keys(subject)
        if snapshot { return prefixes[prefixKey, default: 0] == 0 }
        return exact[exactKey, default: 0] == 0 && snapshots[prefixKey, default: 0] == 0
    }

    mutating func appended(subject: String?, snapshot: Bool) {
        let (exactKey, prefixKey) = Self.keys(subject)
        entries.append(Entry(exact: exactKey, prefix: prefixKey, snapshot: snapshot))
        exact[exactKey, default: 0] += 1
        prefixes[prefixKey, default: 0] += 1
        if snapshot { snapshots[prefixKey, default: 0] += 1 }
    }

    /// The oldest `count` lines were acknowledged.
    mutating func acknowledged(_ count: Int) {
        var left = count
        let known = min(unknown, left)
        unknown -= known
        left -= known
        while left > 0 && head < entries.count {
            let entry = entries[head]
            Self.decrement(&exact, entry.exact)
            Self.decrement(&prefixes, entry.prefix)
            if entry.snapshot { Self.decrement(&snapshots, entry.prefix) }
            head += 1
            left -= 1
        }
        if head > 4096 && head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
    }

    private static func decrement(_ counts: inout [Int: Int], _ key: Int) {
        if let count = counts[key], count > 1 { counts[key] = count - 1 } else { counts[key] = nil }
    }
}
