import FSWatch

/// Where the notifier sends messages (SPEC §12): `inventory/notify/NAME.json`, one target per
/// file. Secrets are never in the repository: a target names a file under `secrets/`.
///
///     {"type": "ntfy", "url": "http://ntfy.lan", "topic": "homelab", "tokenFile": "notify/ntfy.token"}
///     {"type": "gotify", "url": "http://gotify.lan:8080", "tokenFile": "notify/gotify.token"}
///     {"type": "webhook", "url": "http://hooks.lan/homelab", "secretFile": "notify/webhook.secret"}
///
/// Optional for each: `"minSeverity": "info" | "warning" | "critical"` (default info), and
/// `"quietSeconds"`: after a message, the next one (unless critical) waits that long.
public struct NotifyTarget: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable { case webhook, ntfy, gotify }

    public let name: String
    public let kind: Kind
    public let url: ServerURL
    /// ntfy's topic.
    public let topic: String?
    /// `secrets/`-relative: gotify's app token, ntfy's access token (Bearer), the webhook's
    /// HMAC key (`secretFile`).
    public let secretFile: String?
    public let minSeverity: Severity
    public let quietSeconds: Int

    /// Parses one target file; `name` comes from the file name.
    public static func parse(name: String, _ bytes: [UInt8]) -> Result<NotifyTarget, InventoryProblem.Reason> {
        guard CatalogEntry.isValidName(name) else { return .failure("the target name \"\(name)\" must match [a-z0-9][a-z0-9-]*") }
        let object: JSONObject
        switch parseObject(bytes) {
        case .success(let parsed): object = parsed
        case .failure(let reason): return .failure(reason)
        }
        guard let type = object["type"]?.string, let kind = Kind(rawValue: type) else {
            return .failure("\"type\" must be one of webhook, ntfy, gotify")
        }
        guard let text = object["url"]?.string else { return .failure("\"url\" is required: http://HOST[:PORT][/PATH]") }
        let url: ServerURL
        switch ServerURL.parse(text) {
        case .success(let parsed): url = parsed
        case .failure(let reason): return .failure("\"url\": \(reason)")
        }
        var topic: String?
        if kind == .ntfy {
            guard let given = object["topic"]?.string, isValidTopic(given) else { return .failure("ntfy needs \"topic\": [A-Za-z0-9_-], 1 to 64 characters") }
            topic = given
        }
        let reference = object[kind == .webhook ? "secretFile" : "tokenFile"]
        var secretFile: String?
        if let reference {
            guard let given = reference.string, RuntimeRoot("/").secret(given) != nil else {
                return .failure("\"\(kind == .webhook ? "secretFile" : "tokenFile")\" must be a path relative to secrets/, without .. or hidden names")
            }
            secretFile = given
        } else if kind == .gotify {
            return .failure("gotify needs \"tokenFile\": the application token's file, relative to secrets/")
        }
        var minSeverity = Severity.info
        if let value = object["minSeverity"] {
            guard let parsed = value.string.flatMap(Severity.init(rawValue:)) else { return .failure("\"minSeverity\" must be info, warning or critical") }
            minSeverity = parsed
        }
        var quiet = 0
        if let value = object["quietSeconds"] {
            guard let seconds = value.int, seconds >= 0, seconds <= 86_400 else { return .failure("\"quietSeconds\" must be 0…86400") }
            quiet = seconds
        }
        return .success(NotifyTarget(name: name, kind: kind, url: url, topic: topic, secretFile: secretFile, minSeverity: minSeverity, quietSeconds: quiet))
    }

    static func isValidTopic(_ topic: String) -> Bool {
        !topic.isEmpty && topic.utf8.count <= 64
            && topic.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95 }
    }

    /// The secret's text read now (a rotated token takes effect at the next message); nil
    /// when the target names none, or the file is missing.
    public func secret(root: RuntimeRoot) -> String? {
        secretFile.flatMap(root.secret).flatMap(TokenFile.read)
    }
}

/// How loud a message is: ntfy's priority, Gotify's, a target's threshold.
public enum Severity: String, Sendable, Comparable, CaseIterable {
    case info, warning, critical

    private var rank: Int { Severity.allCases.firstIndex(of: self)! }
    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}
