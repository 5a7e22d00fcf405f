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
