import FSWatch
import HomelabCore

/// Storms become one message: occurrences of one group (rule and node) are held for the
/// grouping window from the first of them, then leave as one message with a count. A lone
/// occurrence leaves as itself, under the key of its own occurrence.
struct Grouping {
    struct Held {
        var occurrences: [Occurrence]
        let due: MonotonicTime
    }

    let window: Duration
    private(set) var held: [String: Held] = [:]

    init(window: Duration) { self.window = window }

    /// Holds `occurrence`; a repeat of an occurrence already held (the same trigger, read again)
    /// is dropped.
    mutating func add(_ occurrence: Occurrence, now: MonotonicTime) {
        if held[occurrence.group]?.occurrences.contains(where: { $0.trigger == occurrence.trigger && $0.subject == occurrence.subject }) == true { return }
        held[occurrence.group, default: Held(occurrences: [], due: now + window)].occurrences.append(occurrence)
    }

    /// The groups whose window has ended, taken out.
    mutating func takeDue(now: MonotonicTime) -> [[Occurrence]] {
        let due = held.filter { $0.value.due <= now }
        for key in due.keys { held[key] = nil }
        return due.values.sorted { ($0.occurrences.first?.seq ?? 0) < ($1.occurrences.first?.seq ?? 0) }.map(\.occurrences)
    }

    /// When the next group is due.
    var nextDue: MonotonicTime? { held.values.map(\.due).min() }

    /// The lowest seq still held: the cursor stays below it.
    var lowestSeq: Int? { held.values.flatMap { $0.occurrences.map(\.seq) }.filter { $0 > 0 }.min() }

    /// One message for a group's occurrences.
    static func message(_ group: [Occurrence], publicURL: String?) -> NotifyMessage {
        let first = group[0]
        if group.count == 1 {
            return NotifyMessage(key: NotifyMessage.key(rule: first.rule.rawValue, subject: first.subject, trigger: first.trigger),
                                 rule: first.rule.rawValue, severity: first.rule.severity, title: first.title, body: first.body,
                                 click: first.click, tags: first.rule.tags, count: 1, subjects: [first.subject])
        }
        let scope = first.scope.map { " on \($0)" } ?? ""
        var lines = group.prefix(10).map { "- " + $0.line }
        if group.count > 10 { lines.append("… and \(group.count - 10) more") }
        return NotifyMessage(key: NotifyMessage.key(rule: first.rule.rawValue, subject: first.group, trigger: first.trigger),
                             rule: first.rule.rawValue, severity: first.rule.severity, title: first.rule.plural(group.count) + scope,
                             body: lines.joined(separator: "\n"), click: publicURL, tags: first.rule.tags, count: group.count,
                             subjects: Array(group.prefix(50).map(\.subject)))
    }
}
