/// A resource as the repository wants it (SPEC §5).
public struct DesiredResource: Sendable, Equatable {
    public struct Rule: Sendable, Equatable {
        /// `missing`, `stale`, or a spec key whose mismatch it fixes.
        public let on: String
        public let action: String
        public let args: [String: String]
    }

    /// When leaving the desired state counts as a crash loop (SPEC §12): `count` times
    /// within `withinSeconds`.
    public struct Flapping: Sendable, Equatable {
        public let count: Int
        public let withinSeconds: Int

        public init(count: Int, withinSeconds: Int) {
            self.count = count
            self.withinSeconds = withinSeconds
        }

        public static let standard = Flapping(count: 3, withinSeconds: 600)
    }

    public let subject: Subject
    public let spec: JSONObject
    public let staleAfterSeconds: Int?
    public let remediate: [Rule]
    public var flapping: Flapping = .standard

    /// Parses one desired-resource file, checking its rules against `catalog`.
    public static func parse(_ bytes: [UInt8], catalog: [String: CatalogEntry]) -> Result<DesiredResource, InventoryProblem.Reason> {
        let object: JSONObject
        switch parseObject(bytes) {
        case .success(let parsed): object = parsed
        case .failure(let reason): return .failure(reason)
        }
        guard let kind = object["kind"]?.string, let name = object["name"]?.string else { return .failure("\"kind\" and \"name\" are required strings") }
        guard case .success(let subject) = Subject.parse(kind + "/" + name), kind != "action" else {
            return .failure("\"\(kind)/\(name)\" is not a valid KIND/NAME")
        }
        guard let spec = object["spec"]?.object else { return .failure("\"spec\" must be an object") }
        var stale: Int?
        if let value = object["staleAfterSeconds"] {
            guard let seconds = value.int, seconds > 0 else { return .failure("\"staleAfterSeconds\" must be a positive whole number") }
            stale = seconds
        }
        var rules: [Rule] = []
        for (index, value) in (object["remediate"]?.array ?? []).enumerated() {
            guard let rule = value.object, let on = rule["on"]?.string, let action = rule["action"]?.string else {
                return .failure("remediate[\(index)] needs \"on\" and \"action\" strings")
            }
            guard on == "missing" || on == "stale" || spec[on] != nil else {
                return .failure("remediate[\(index)]: \"on\": \"\(on)\" is neither missing, stale nor a spec key")
            }
            guard let entry = catalog[action] else { return .failure("remediate[\(index)]: no action \"\(action)\" in the catalog") }
            var args: [String: String] = [:]
            for (key, arg) in rule["args"]?.object ?? [:] {
                guard let text = arg.string else { return .failure("remediate[\(index)]: arg \"\(key)\" must be a string") }
                args[key] = text
            }
            if case .failure(let failure) = ActionResolver.resolve(entry, args: args) {
                return .failure("remediate[\(index)]: \(failure)")
            }
            rules.append(Rule(on: on, action: action, args: args))
        }
        var resource = DesiredResource(subject: subject, spec: spec, staleAfterSeconds: stale, remediate: rules)
        if let value = object["flapping"] {
            guard let count = value["count"]?.int, count >= 2, count <= 1000,
                  let within = value["withinSeconds"]?.int, within > 0, within <= 86_400 else {
                return .failure("\"flapping\" must be {\"count\": 2…1000, \"withinSeconds\": 1…86400}")
            }
            resource.flapping = Flapping(count: count, withinSeconds: within)
        }
        return .success(resource)
    }
}
