/// `state/drift.json` (SPEC §5): the supervisor's whole view of drift, rewritten within
/// 50 ms of a change. The supervisor writes it from entries it encoded once per evaluation
/// (with thousands of resources the file is megabytes); the UI and `/summary` read it.
public struct DriftReport: Sendable {
    public struct Entry: Equatable, Sendable {
        public var drift: Drift
        /// The action proposed for it, if any.
        public var action: String?
        /// The resource left its desired state too often lately (SPEC §12): no new proposal
        /// until it settles or an operator asks (`homelab propose`).
        public var flapping: Bool
        /// Why no (new) proposal answers it now, and when the next attempt is due.
        public var wait: Wait?

        public init(drift: Drift, action: String?, flapping: Bool = false, wait: Wait? = nil) {
            self.drift = drift
            self.action = action
            self.flapping = flapping
            self.wait = wait
        }

        public var json: JSONObject {
            var object = drift.json()
            if let action { object["action"] = .string(action) }
            if flapping { object["flapping"] = .bool(true) }
            if let wait { object["wait"] = .object(wait.json) }
            return object
        }
    }

    /// `"wait": {"reason", "detail", "nextAttemptAt"}` of an entry: the dashboard and
    /// `homelab status` show it beside the drift.
    public struct Wait: Equatable, Sendable {
        public enum Reason: String, Sendable { case backoff, flapping, rejected }

        public var reason: Reason
        /// A phrase for people: "back-off after attempt 2".
        public var detail: String
        /// When a new proposal is due by itself (none for a rejection: only an operator).
        public var nextAttemptAt: Timestamp?

        public init(reason: Reason, detail: String, nextAttemptAt: Timestamp? = nil) {
            self.reason = reason
            self.detail = detail
            self.nextAttemptAt = nextAttemptAt
        }

        public var json: JSONObject {
            var object: JSONObject = ["reason": .string(reason.rawValue), "detail": .string(detail)]
            if let nextAttemptAt { object["nextAttemptAt"] = .string(nextAttemptAt.iso8601) }
            return object
        }

        public init?(json value: JSONValue?) {
            guard let reason = value?["reason"]?.string.flatMap(Reason.init(rawValue:)) else { return nil }
            self.init(reason: reason, detail: value?["detail"]?.string ?? "",
                      nextAttemptAt: value?["nextAttemptAt"]?.string.flatMap { Timestamp(rfc3339: $0) })
        }
    }

    public var generatedAt: String
    public var desiredRevision: String
    public var worldSeq: Int
    public var entries: [Entry]
    public var problems: [InventoryProblem]

    /// The report's bytes from entries already encoded (each a comma-separated run of
    /// `Entry.json` objects, as one resource's drift), in the order given.
    public static func encode(generatedAt: String, desiredRevision: String, worldSeq: Int, encodedEntries: [[UInt8]],
                              problems: [InventoryProblem]) -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: encodedEntries.reduce(256) { $0 + $1.count + 1 })
        writer.appendRaw("{\"generatedAt\":")
        writer.write(string: generatedAt)
        writer.appendRaw(",\"desiredRevision\":")
        writer.write(string: desiredRevision)
        writer.appendRaw(",\"worldSeq\":\(worldSeq),\"drift\":[")
        for (index, entry) in encodedEntries.enumerated() {
            if index > 0 { writer.appendRaw(",") }
            writer.appendRaw(entry)
        }
        writer.appendRaw("],\"problems\":")
        writer.write(.array(problems.map { .object(["file": .string($0.file), "reason": .string($0.reason)]) }))
        writer.appendRaw("}\n")
        return writer.bytes
    }

    /// Encodes one resource's entries for `encode`.
    public static func encode(_ entries: [Entry]) -> [UInt8] {
        var writer = JSONWriter()
        for (index, entry) in entries.enumerated() {
            if index > 0 { writer.appendRaw(",") }
            writer.write(.object(entry.json))
        }
        return writer.bytes
    }

    public static func read(_ path: String) -> DriftReport? {
        guard let object = FileContents.object(path) else { return nil }
        return DriftReport(json: object)
    }

    public init?(json object: JSONObject) {
        guard let drift = object["drift"]?.array else { return nil }
        generatedAt = object["generatedAt"]?.string ?? ""
        desiredRevision = object["desiredRevision"]?.string ?? ""
        worldSeq = object["worldSeq"]?.int ?? 0
        entries = drift.compactMap { value in
            value.object.flatMap { Drift(json: $0) }.map {
                Entry(drift: $0, action: value["action"]?.string, flapping: value["flapping"]?.bool ?? false, wait: Wait(json: value["wait"]))
            }
        }
        problems = (object["problems"]?.array ?? []).compactMap { value in
            guard let file = value["file"]?.string, let reason = value["reason"]?.string else { return nil }
            return InventoryProblem(file: file, reason: reason)
        }
    }

    /// The entries of one resource.
    public func entries(for resource: String) -> [Entry] { entries.filter { $0.drift.subject.description == resource } }

    /// How many entries of each kind, every kind present (0 when none).
    public var countsByKind: [(kind: Drift.Kind, count: Int)] {
        Drift.Kind.allCases.map { kind in (kind, entries.filter { $0.drift.kind == kind }.count) }
    }
}
