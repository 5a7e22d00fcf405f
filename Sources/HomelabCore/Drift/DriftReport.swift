/// `state/drift.json` (SPEC §5): the supervisor's whole view of drift, rewritten within
/// 50 ms of a change. The supervisor writes it from entries it encoded once per evaluation
/// (with thousands of resources the file is megabytes); the UI and `/summary` read it.
public struct DriftReport: Sendable {
    public struct Entry: Equatable, Sendable {
        public var drift: Drift
        /// The action proposed for it, if any.
        public var action: String?

        public init(drift: Drift, action: String?) {
            self.drift = drift
            self.action = action
        }

        public var json: JSONObject {
            var object = drift.json()
            if let action { object["action"] = .string(action) }
            return object
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
            value.object.flatMap { Drift(json: $0) }.map { Entry(drift: $0, action: value["action"]?.string) }
        }
        problems = (object["problems"]?.array ?? []).compactMap { value in
            guard let file = value["file"]?.string, let reason = value["reason"]?.string else { return nil }
            return InventoryProblem(file: file, reason: reason)
        }
    }

    /// How many entries of each kind, every kind present (0 when none).
    public var countsByKind: [(kind: Drift.Kind, count: Int)] {
        Drift.Kind.allCases.map { kind in (kind, entries.filter { $0.drift.kind == kind }.count) }
    }
}
