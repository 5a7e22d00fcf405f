#if canImport(Glibc)
import Glibc
#endif
import FSWatch

/// One message of the notifier (SPEC §12) as its outbox holds it: `notify/outbox/KEY.json`,
/// written durably before the notifier's cursor moves past the events it came from, rewritten
/// as each target takes it (`pending` shrinks) and removed when none is left. `key` is derived
/// from the occurrence (rule, subject, the triggering seq), so the same occurrence always
/// makes the same key, and receivers that see a key twice show it once.
public struct NotifyMessage: Equatable, Sendable {
    public var key: String
    /// The rule that made it: `proposal`, `action-failed`, `service-down`, …
    public var rule: String
    public var severity: Severity
    public var title: String
    public var body: String
    /// Where a click leads (the dashboard), if anywhere.
    public var click: String?
    public var tags: [String]
    /// How many occurrences it stands for (a storm grouped into one message).
    public var count: Int
    /// The resources it is about, at most a few dozen.
    public var subjects: [String]
    public var createdAt: Timestamp
    /// The targets that have not taken it yet.
    public var pending: [String]

    public init(key: String, rule: String, severity: Severity, title: String, body: String, click: String? = nil, tags: [String] = [],
                count: Int = 1, subjects: [String] = [], createdAt: Timestamp = .now(), pending: [String] = []) {
        self.key = key
        self.rule = rule
        self.severity = severity
        self.title = title
        self.body = body
        self.click = click
        self.tags = tags
        self.count = count
        self.subjects = subjects
        self.createdAt = createdAt
        self.pending = pending
    }

    /// The key of an occurrence: rule, subject and what triggered it (a seq, a heartbeat time).
    public static func key(rule: String, subject: String, trigger: String) -> String {
        String(Digest.sha256Hex(Array("\(rule)\u{0}\(subject)\u{0}\(trigger)".utf8)).prefix(32))
    }

    public var json: JSONObject {
        var object: JSONObject = [
            "key": .string(key), "rule": .string(rule), "severity": .string(severity.rawValue), "title": .string(title),
            "message": .string(body),
        ]
        if let click { object["click"] = .string(click) }
        object["tags"] = .array(tags.map { .string($0) })
        object["count"] = .int(count)
        object["subjects"] = .array(subjects.map { .string($0) })
        object["createdAt"] = .string(createdAt.iso8601Milliseconds)
        object["pending"] = .array(pending.map { .string($0) })
        return object
    }

    public init?(json object: JSONObject) {
        guard let key = object["key"]?.string, let rule = object["rule"]?.string,
              let severity = object["severity"]?.string.flatMap(Severity.init(rawValue:)),
              let title = object["title"]?.string, let body = object["message"]?.string else { return nil }
        self.init(key: key, rule: rule, severity: severity, title: title, body: body, click: object["click"]?.string,
                  tags: (object["tags"]?.array ?? []).compactMap(\.string), count: object["count"]?.int ?? 1,
                  subjects: (object["subjects"]?.array ?? []).compactMap(\.string),
                  createdAt: object["createdAt"]?.string.flatMap { Timestamp(rfc3339: $0) } ?? .now(),
                  pending: (object["pending"]?.array ?? []).compactMap(\.string))
    }

    public static func read(_ path: String) -> NotifyMessage? { FileContents.object(path).flatMap(NotifyMessage.init(json:)) }

    /// Writes it, atomically but not yet durably: the notifier posts it at once and makes it
    /// durable (`syncWritten`) before its cursor moves past the events it came from — a power
    /// cut before that re-reads the events and makes the same message again, under the same key.
    public func write(root: RuntimeRoot) throws(SystemError) {
        try AtomicFile.write(JSONWriter.encode(.object(json)), to: root.notifyMessage(key), durability: .none)
    }

    /// Makes the messages `keys` durable — each file, then the outbox's entries — in one go.
    /// A key whose file is gone meanwhile (delivered already) needs nothing.
    public static func syncWritten(_ keys: [String], root: RuntimeRoot) throws(SystemError) {
        for key in keys {
            guard let file = try? FileDescriptor.open(root.notifyMessage(key), O_RDONLY) else { continue }
            try file.closeAfter { file throws(SystemError) in try file.sync() }
        }
        try AtomicFile.syncFolder(root.notifyOutbox)
    }

    /// The keys in the outbox, oldest file name order.
    public static func keys(root: RuntimeRoot) -> [String] {
        listDirectory(root.notifyOutbox).compactMap { entry in
            entry.name.hasSuffix(".json") && !entry.name.hasPrefix(".") ? String(entry.name.dropLast(5)) : nil
        }.sorted()
    }
}
