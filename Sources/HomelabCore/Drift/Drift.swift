/// One difference between desired and observed (SPEC §5): what the supervisor finds, what
/// `drift.json` lists and what an action file says it was proposed for.
public struct Drift: Equatable, Sendable {
    public enum Kind: String, CaseIterable, Sendable { case missing, mismatch, stale, unmanaged }

    public struct Field: Equatable, Sendable {
        public let field: String
        public let desired: JSONValue
        public let observed: JSONValue

        public init(field: String, desired: JSONValue, observed: JSONValue) {
            self.field = field
            self.desired = desired
            self.observed = observed
        }
    }

    public let subject: Subject
    public let kind: Kind
    public let fields: [Field]

    public init(subject: Subject, kind: Kind, fields: [Field]) {
        self.subject = subject
        self.kind = kind
        self.fields = fields
    }

    /// `{"resource":…,"kind":…,"fields":[{"field","desired","observed"}…]}`; an action file
    /// leaves the resource out (it names it at the top).
    public func json(withResource: Bool = true) -> JSONObject {
        var object: JSONObject = withResource ? ["resource": .string(subject.description)] : [:]
        object["kind"] = .string(kind.rawValue)
        object["fields"] = .array(fields.map { .object(["field": .string($0.field), "desired": $0.desired, "observed": $0.observed]) })
        return object
    }

    /// Reads the object `json` writes; `subject` when the object does not name its resource.
    public init?(json object: JSONObject, subject: Subject? = nil) {
        guard let subject = subject ?? object["resource"]?.string.flatMap({ try? Subject.parse($0).get() }),
              let kind = object["kind"]?.string.flatMap(Kind.init(rawValue:)) else { return nil }
        var fields: [Field] = []
        for value in object["fields"]?.array ?? [] {
            guard let name = value["field"]?.string else { return nil }
            fields.append(Field(field: name, desired: value["desired"] ?? .null, observed: value["observed"] ?? .null))
        }
        self.init(subject: subject, kind: kind, fields: fields)
    }
}
