import FSWatch

/// `actions/STATE/ID.json` (SPEC §6): a proposal, and once it ran, its result. The one
/// reader and writer of the format. Members it does not know are kept, in order, so a
/// rewrite never loses what a newer version wrote; a file's own `argv` or `command` is never
/// taken as a command (the executor refuses such a file: commands come only from the catalog).
public struct ActionFile: Equatable, Sendable {
    /// How a run ended, written by whoever ran it.
    public struct Result: Equatable, Sendable {
        public var startedAt: String?
        public var exitCode: Int?
        public var signal: String?
        public var durationMs: Double?
        public var outputTail: String?
        public var error: String?
        public var finishedAt: String?

        public init(startedAt: String? = nil, exitCode: Int? = nil, signal: String? = nil, durationMs: Double? = nil,
                    outputTail: String? = nil, error: String? = nil, finishedAt: String? = nil) {
            self.startedAt = startedAt
            self.exitCode = exitCode
            self.signal = signal
            self.durationMs = durationMs
            self.outputTail = outputTail
            self.error = error
            self.finishedAt = finishedAt
        }
    }

    public var id: String
    public var action: String?
    public var args: [String: String] = [:]
    public var resource: String?
    public var drift: Drift?
    public var desiredRevision: String?
    public var worldSeq: Int?
    public var proposedAt: String?
    public var attempt: Int?
    /// The command as it was resolved when proposed, for the operator to read.
    public var preview: [String] = []
    public var approvedBy: String?
    public var approvedAt: String?
    public var supersededAt: String?
    public var supersededReason: String?
    public var result: Result?
    /// Members this version does not know, in file order.
    public var other: JSONObject = [:]
    /// What is wrong with the file as an action (an arg that is not a string, a command of
    /// its own): the executor refuses to run it and records why.
    public private(set) var problems: [String] = []

    public init(id: String) { self.id = id }

    // MARK: Reading

    public static func read(_ path: String) -> ActionFile? {
        guard let object = FileContents.object(path) else { return nil }
        return ActionFile(json: object)
    }

    public init?(json object: JSONObject) {
        guard let id = object["id"]?.string else { return nil }
        self.id = id
        for (key, value) in object {
            switch key {
            case "id": continue
            case "action": action = value.string
            case "args":
                for (name, arg) in value.object ?? [:] {
                    if let text = arg.string { args[name] = text } else { problems.append("arg \"\(name)\" must be a string") }
                }
            case "resource": resource = value.string
            case "drift": drift = nil  // below, once the resource is known
            case "desiredRevision": desiredRevision = value.string
            case "worldSeq": worldSeq = value.int
            case "proposedAt": proposedAt = value.string
            case "attempt": attempt = value.int
            case "preview": preview = (value.array ?? []).compactMap(\.string)
            case "approvedBy": approvedBy = value.string
            case "approvedAt": approvedAt = value.string
            case "supersededAt": supersededAt = value.string
            case "supersededReason": supersededReason = value.string
            case "result": result = value.object.map(Result.init(json:))
            default:
                if key == "argv" || key == "command" {
                    problems.append("the action file carries its own command; commands come only from the catalog")
                }
                other[key] = value
            }
        }
        if let value = object["drift"]?.object {
            drift = Drift(json: value, subject: resource.flatMap { try? Subject.parse($0).get() })
        }
    }

    // MARK: Writing

    public var json: JSONObject {
        var object: JSONObject = ["id": .string(id)]
        if let action { object["action"] = .string(action) }
        if !args.isEmpty || action != nil {
            object["args"] = .object(JSONObject(args.keys.sorted().map { (key: $0, value: .string(args[$0]!)) }))
        }
        if let resource { object["resource"] = .string(resource) }
        if let drift { object["drift"] = .object(drift.json(withResource: false)) }
        if let desiredRevision { object["desiredRevision"] = .string(desiredRevision) }
        if let worldSeq { object["worldSeq"] = .int(worldSeq) }
        if let proposedAt { object["proposedAt"] = .string(proposedAt) }
        if let attempt { object["attempt"] = .int(attempt) }
        if action != nil || !preview.isEmpty { object["preview"] = .array(preview.map(JSONValue.string)) }
        if let approvedBy { object["approvedBy"] = .string(approvedBy) }
        if let approvedAt { object["approvedAt"] = .string(approvedAt) }
        if let supersededAt { object["supersededAt"] = .string(supersededAt) }
        if let supersededReason { object["supersededReason"] = .string(supersededReason) }
        if let result { object["result"] = .object(result.json) }
        object.members.append(contentsOf: other.members)
        return object
    }

    public var bytes: [UInt8] { JSONWriter.encode(.object(json)) + [0x0A] }

    /// Writes the file atomically to `path` (see `AtomicFile.Durability`).
    public func write(to path: String, durability: AtomicFile.Durability) throws(SystemError) {
        try AtomicFile.write(bytes, to: path, durability: durability)
    }
}

extension ActionFile.Result {
    public init(json object: JSONObject) {
        self.init(startedAt: object["startedAt"]?.string, exitCode: object["exitCode"]?.int, signal: object["signal"]?.string,
                  durationMs: object["durationMs"]?.double, outputTail: object["outputTail"]?.string,
                  error: object["error"]?.string, finishedAt: object["finishedAt"]?.string)
    }

    public var json: JSONObject {
        var object = JSONObject()
        if let startedAt { object["startedAt"] = .string(startedAt) }
        if let exitCode { object["exitCode"] = .int(exitCode) }
        if let signal { object["signal"] = .string(signal) }
        if let durationMs { object["durationMs"] = .number(String(format2: durationMs)) }
        if let outputTail { object["outputTail"] = .string(outputTail) }
        if let error { object["error"] = .string(error) }
        if let finishedAt { object["finishedAt"] = .string(finishedAt) }
        return object
    }
}
