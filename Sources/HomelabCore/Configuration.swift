#if canImport(Glibc)
import Glibc
#endif

/// A setting that is missing or invalid: the service prints this one line and exits 2.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public let variable: String
    public let reason: String
    public var description: String { "\(variable): \(reason)" }

    public init(variable: String, reason: String) {
        self.variable = variable
        self.reason = reason
    }
}

/// The environment variables of SPEC §2, with the defaults that serve the Docker image.
public struct Configuration: Sendable {
    public var root: RuntimeRoot
    public var repo: String
    public var inventory: String
    public var uiAddress: String
    public var heartbeatSeconds: Int
    public var logLevel: LogLevel
    /// `HOMELAB_RETENTION_DAYS`: log segments older than this (and covered by a snapshot) are removed.
    public var retentionDays: Int
    /// `HOMELAB_MIN_FREE_MB`: below this much free space on the root's file system, ingest pauses.
    public var minFreeMB: Int
    /// `HOMELAB_SNAPSHOT_EVENTS`: the observer snapshots the world every this many events (and daily).
    public var snapshotEvents: Int

    public init(environment: [String: String]) throws(ConfigurationError) {
        func value(_ name: String) -> String? {
            guard let value = environment[name], !value.isEmpty else { return nil }
            return value
        }
        root = RuntimeRoot(value("HOMELAB_ROOT") ?? "/opt/homelab")
        repo = value("HOMELAB_REPO") ?? "/repo"
        inventory = value("HOMELAB_INVENTORY") ?? repo + "/inventory"
        uiAddress = value("HOMELAB_UI_ADDR") ?? "0.0.0.0:8080"
        let heartbeat = value("HOMELAB_HEARTBEAT_SECONDS") ?? "15"
        guard let seconds = Int(heartbeat), seconds > 0, seconds <= 86_400 else {
            throw ConfigurationError(variable: "HOMELAB_HEARTBEAT_SECONDS", reason: "\"\(heartbeat)\" is not a whole number of seconds between 1 and 86400")
        }
        heartbeatSeconds = seconds
        let level = value("HOMELAB_LOG_LEVEL") ?? "info"
        guard let parsed = LogLevel(rawValue: level) else {
            throw ConfigurationError(variable: "HOMELAB_LOG_LEVEL", reason: "\"\(level)\" is not one of debug, info, warning, error")
        }
        logLevel = parsed
        func number(_ name: String, default fallback: Int, _ range: ClosedRange<Int>, _ what: String) throws(ConfigurationError) -> Int {
            let text = value(name) ?? String(fallback)
            guard let number = Int(text), range.contains(number) else {
                throw ConfigurationError(variable: name, reason: "\"\(text)\" is not \(what) between \(range.lowerBound) and \(range.upperBound)")
            }
            return number
        }
        retentionDays = try number("HOMELAB_RETENTION_DAYS", default: 90, 1...36_500, "a whole number of days")
        minFreeMB = try number("HOMELAB_MIN_FREE_MB", default: 512, 0...1_048_576, "a whole number of megabytes")
        snapshotEvents = try number("HOMELAB_SNAPSHOT_EVENTS", default: 100_000, 1...100_000_000, "a whole number of events")
    }

    /// The process environment as a dictionary.
    public static func processEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let pair = String(cString: pointer)
            if let equals = pair.firstIndex(of: "=") {
                result[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            entry += 1
        }
        return result
    }
}
