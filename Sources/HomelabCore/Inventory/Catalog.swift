import Synchronization

/// One entry of the action catalog (`inventory/actions/NAME.json`, SPEC §6): the only
/// commands the executor can run.
public struct CatalogEntry: Sendable, Equatable {
    public let name: String
    public let description: String
    public let argv: [String]
    /// Param name → the pattern its value must match in full.
    public let params: [String: String]
    public let timeoutSeconds: Int
    public let autoApprove: Bool
    /// Where it runs (docs/remote-actions.md): nil, the VPS executor itself; `{PARAM}`, the
    /// node that param's value names; anything else, that node. See `ActionResolver.node`.
    public let runsOn: String?
    /// How long after the action succeeded its drift must be gone (SPEC §12): the supervisor
    /// then emits `action.verified`, else `action.unverified`.
    public var verifyWithinSeconds: Int = defaultVerifyWithinSeconds

    public static let defaultTimeoutSeconds = 300
    public static let defaultVerifyWithinSeconds = 60

    /// Parses a catalog file; `name` comes from the file name.
    public static func parse(name: String, _ bytes: [UInt8]) -> Result<CatalogEntry, InventoryProblem.Reason> {
        guard Self.isValidName(name) else { return .failure("the action name \"\(name)\" must match [a-z0-9][a-z0-9-]*") }
        let object: JSONObject
        switch parseObject(bytes) {
        case .success(let parsed): object = parsed
        case .failure(let reason): return .failure(reason)
        }
        guard let argvValues = object["argv"]?.array, !argvValues.isEmpty else { return .failure("\"argv\" must be a non-empty array of strings") }
        let argv = argvValues.compactMap(\.string)
        guard argv.count == argvValues.count, !argv[0].isEmpty else { return .failure("\"argv\" must be a non-empty array of strings") }
        var params: [String: String] = [:]
        for (param, pattern) in object["params"]?.object ?? [:] {
            guard let pattern = pattern.string else { return .failure("param \"\(param)\": the pattern must be a string") }
            guard (try? Regex(pattern)) != nil else { return .failure("param \"\(param)\": \"\(pattern)\" is not a valid pattern") }
            params[param] = pattern
        }
        for element in argv {
            for placeholder in ActionResolver.placeholders(in: element) where params[placeholder] == nil {
                return .failure("argv uses {\(placeholder)}, which is not a declared param")
            }
        }
        var timeout = defaultTimeoutSeconds
        if let value = object["timeoutSeconds"] {
            guard let seconds = value.int, seconds > 0 else { return .failure("\"timeoutSeconds\" must be a positive whole number") }
            timeout = seconds
        }
        if let value = object["autoApprove"], value.bool == nil { return .failure("\"autoApprove\" must be true or false") }
        var runsOn: String?
        if let value = object["runsOn"] {
            guard let text = value.string else { return .failure("\"runsOn\" must be a string: {PARAM} or a node name") }
            if let param = ActionResolver.wholePlaceholder(text) {
                guard params[param] != nil else { return .failure("\"runsOn\" uses {\(param)}, which is not a declared param") }
            } else if !Subject.isValidNodeName(text) {
                return .failure("\"runsOn\": \"\(text)\" is neither {PARAM} nor a valid node name ([A-Za-z0-9][A-Za-z0-9._-]*)")
            }
            runsOn = text
        }
        var entry = CatalogEntry(name: name, description: object["description"]?.string ?? "", argv: argv, params: params,
                                 timeoutSeconds: timeout, autoApprove: object["autoApprove"]?.bool ?? false, runsOn: runsOn)
        if let value = object["verifyWithinSeconds"] {
            guard let seconds = value.int, seconds > 0, seconds <= 86_400 else {
                return .failure("\"verifyWithinSeconds\" must be a whole number of seconds between 1 and 86400")
            }
            entry.verifyWithinSeconds = seconds
        }
        return .success(entry)
    }

    /// The entry `name` as the inventory holds it now (`INVENTORY/actions/NAME.json`): what the
    /// executor reads at the moment it runs an action, whatever was loaded before.
    public static func load(name: String, inventory: String) -> Result<CatalogEntry, InventoryProblem.Reason> {
        guard isValidName(name), let bytes = FileContents.read(inventory + "/actions/" + name + ".json", limit: 1 << 20) else {
            return .failure("unknown action \"\(name)\": not in the catalog")
        }
        return parse(name: name, bytes).mapError { "the catalog entry \(name) is invalid: \($0)" }
    }

    /// Catalog names are `[a-z0-9][a-z0-9-]*`: they name a file, so nothing else may pass.
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, (first >= 97 && first <= 122) || (first >= 48 && first <= 57) else { return false }
        return name.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
    }
}

/// Turns an action's args into the argv the catalog allows — the one resolver the supervisor
/// (for the preview) and the executor (to run) share. Every arg must be a declared param whose
/// pattern it matches in full, every param must be given, and values are substituted into
/// argv elements as plain text: no shell ever sees them.
public enum ActionResolver {
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    public static func resolve(_ entry: CatalogEntry, args: [String: String]) -> Result<[String], Failure> {
        for name in args.keys.sorted() where entry.params[name] == nil {
            return .failure(Failure(description: "arg \"\(name)\" is not a param of \(entry.name)"))
        }
        for name in entry.params.keys.sorted() {
            guard let value = args[name] else { return .failure(Failure(description: "missing arg \"\(name)\" for \(entry.name)")) }
            guard let pattern = compiled(entry.params[name]!), value.wholeMatch(of: pattern) != nil else {
                return .failure(Failure(description: "arg \"\(name)\" = \"\(value)\" does not match \(entry.params[name]!)"))
            }
        }
        return .success(entry.argv.map { substitute($0, args) })
    }

    /// The node whose agent runs the action (`runsOn`), nil for one the executor runs itself.
    /// Call it on args `resolve` accepted; a value that is not a node name (a param pattern
    /// looser than one) fails: it becomes a folder name under `handoff/`.
    public static func node(_ entry: CatalogEntry, args: [String: String]) -> Result<String?, Failure> {
        guard let runsOn = entry.runsOn else { return .success(nil) }
        let node = wholePlaceholder(runsOn).map { args[$0] ?? "" } ?? runsOn
        guard Subject.isValidNodeName(node) else {
            return .failure(Failure(description: "runsOn \(runsOn) = \"\(node)\" is not a valid node name"))
        }
        return .success(node)
    }

    /// `PARAM` when `text` is exactly `{PARAM}`.
    static func wholePlaceholder(_ text: String) -> String? {
        guard text.hasPrefix("{"), text.hasSuffix("}"), text.count > 2 else { return nil }
        let name = text.dropFirst().dropLast()
        return name.contains("{") || name.contains("}") ? nil : String(name)
    }

    private static let cache = PatternCache()

    private static func compiled(_ pattern: String) -> Regex<AnyRegexOutput>? { cache.regex(pattern) }

    static func placeholders(in element: String) -> [String] {
        var names: [String] = []
        var rest = Substring(element)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            names.append(String(rest[rest.index(after: open)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        return names
    }

    private static func substitute(_ element: String, _ args: [String: String]) -> String {
        var out = ""
        var rest = Substring(element)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            out += rest[..<open]
            let name = String(rest[rest.index(after: open)..<close])
            out += args[name] ?? "{\(name)}"
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }
}

func parseObject(_ bytes: [UInt8]) -> Result<JSONObject, InventoryProblem.Reason> {
    do {
        guard let object = try JSONParser.parse(bytes).object else { return .failure("not a JSON object") }
        return .success(object)
    } catch {
        return .failure("not JSON: \(error)")
    }
}

/// Patterns compiled once: a catalog has a handful, resolved thousands of times. (`Regex` is
/// not `Sendable`; every access goes through the lock.)
private final class PatternCache: @unchecked Sendable {
    private let lock = Mutex(())
    private var compiled: [String: Regex<AnyRegexOutput>] = [:]

    func regex(_ pattern: String) -> Regex<AnyRegexOutput>? {
        lock.withLock { _ in
            if let regex = compiled[pattern] { return regex }
            guard let regex = try? Regex(pattern) else { return nil }
            compiled[pattern] = regex
            return regex
        }
    }
}
