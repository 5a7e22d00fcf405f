import FSWatch
import HomelabCore

/// The agent's settings (SPEC §2, §11), from the environment and the command line's
/// `--inbox PATH` / `--server URL`. A missing or invalid one is a `ConfigurationError` naming it.
public struct AgentSettings: Sendable {
    public enum Delivery: Sendable, Equatable {
        /// `HOMELAB_SERVER` or `--server`: `POST /api/events`.
        case server(ServerURL)
        /// `--inbox PATH`: files dropped into a local inbox (the VPS itself).
        case inbox(String)
    }

    public var node: String
    public var delivery: Delivery
    /// Set with `.server`.
    public var token: AgentToken?
    public var spool: String
    /// The agent's own inbox, and `rejected/` beside it.
    public var inbox: String
    public var rejected: String
    public var mounts: [String]
    public var spoolMaxBytes: Int
    public var heartbeat: Duration
    public var logLevel: LogLevel
    /// `HOMELAB_AGENT_DOCKER=0` turns the Docker collector off.
    public var docker: Bool
    /// What the docker CLI runs with (PATH, DOCKER_HOST, DOCKER_CONFIG, …).
    public var environment: [String: String]
    /// How long a request to the server may take, connecting included.
    public var requestTimeout = Duration.seconds(30)
    /// `HOMELAB_AGENT_ALLOW`: the programs this node runs for the VPS (docs/remote-actions.md);
    /// an entry matches argv[0] as the catalog wrote it, or its base name.
    public var allow: [String]
    /// `HOMELAB_AGENT_CONCURRENCY`: how many actions run at once; more offers wait unclaimed.
    public var concurrency: Int
    /// After SIGTERM on an action's timeout, how long before SIGKILL (as the executor's).
    public var killGrace = Duration.seconds(5)

    public static let defaultSpool = "/var/lib/homelab-agent"
    public static let defaultSpoolMaxMB = 256

    /// `flags` are `--inbox` and `--server` as given; `hostName` the kernel's (for the default node).
    public init(environment: [String: String], flags: [String: String] = [:], hostName: String?) throws(ConfigurationError) {
        func value(_ name: String) -> String? {
            guard let value = environment[name], !value.isEmpty else { return nil }
            return value
        }
        func fail(_ variable: String, _ reason: String) -> ConfigurationError { ConfigurationError(variable: variable, reason: reason) }

        if let name = value("HOMELAB_NODE") {
            guard Subject.isValidNodeName(name) else { throw fail("HOMELAB_NODE", "\"\(name)\" is not a valid name ([A-Za-z0-9][A-Za-z0-9._-]*)") }
            node = name
        } else {
            let name = String((hostName ?? "").prefix { $0 != "." }).lowercased()
            guard Subject.isValidNodeName(name) else {
                throw fail("HOMELAB_NODE", "not set, and the host name \"\(hostName ?? "")\" is not a valid name ([A-Za-z0-9][A-Za-z0-9._-]*): set it")
            }
            node = name
        }

        let server = flags["--server"] ?? value("HOMELAB_SERVER")
        let serverName = flags["--server"] == nil ? "HOMELAB_SERVER" : "--server"
        switch (server, flags["--inbox"]) {
        case (nil, nil):
            throw fail("HOMELAB_SERVER", "not set: give the VPS's URL (http://HOST:PORT) or deliver with --inbox PATH")
        case (.some, .some):
            throw fail("--inbox", "one transport at a time: \(serverName) is set too")
        case (let url?, nil):
            switch ServerURL.parse(url) {
            case .failure(let error): throw fail(serverName, error.description)
            case .success(let parsed): delivery = .server(parsed)
            }
            if let text = value("HOMELAB_AGENT_TOKEN") {
                guard AgentToken.isHeaderSafe(text) else {
                    throw fail("HOMELAB_AGENT_TOKEN", "holds spaces or control characters")
                }
                token = AgentToken(value: text)
            } else if let file = value("HOMELAB_AGENT_TOKEN_FILE") {
                guard let read = AgentToken(file: file) else { throw fail("HOMELAB_AGENT_TOKEN_FILE", "\(file) is missing, unreadable or empty") }
                token = read
            } else {
                throw fail("HOMELAB_AGENT_TOKEN", "not set (nor HOMELAB_AGENT_TOKEN_FILE): the server needs this node's token (homelab agent-token \(node) on the VPS)")
            }
        case (nil, let path?):
            guard fileKind(path) == .directory else { throw fail("--inbox", "\(path) is not a folder") }
            delivery = .inbox(Self.trimmed(path))
        }

        spool = Self.trimmed(value("HOMELAB_AGENT_SPOOL") ?? Self.defaultSpool)
        guard spool.hasPrefix("/") else { throw fail("HOMELAB_AGENT_SPOOL", "\"\(spool)\" is not an absolute path") }
        inbox = Self.trimmed(value("HOMELAB_AGENT_INBOX") ?? spool + "/inbox")
        guard inbox.hasPrefix("/") else { throw fail("HOMELAB_AGENT_INBOX", "\"\(inbox)\" is not an absolute path") }
        if case .inbox(let target) = delivery, target == inbox {
            throw fail("HOMELAB_AGENT_INBOX", "\(inbox) is the --inbox it delivers to: events would go round for ever")
        }
        rejected = (inbox.split(separator: "/").dropLast().map { "/" + $0 }.joined()) + "/rejected"

        mounts = []
        for mount in (value("HOMELAB_AGENT_MOUNTS") ?? "").split(separator: ",").map({ $0.trimmingWhitespace() }) where !mount.isEmpty {
            guard mount.hasPrefix("/") else { throw fail("HOMELAB_AGENT_MOUNTS", "\"\(mount)\" is not an absolute path") }
            if !mounts.contains(mount) { mounts.append(Self.trimmed(mount)) }
        }

        let megabytes = value("HOMELAB_AGENT_SPOOL_MAX_MB") ?? String(Self.defaultSpoolMaxMB)
        guard let mb = Int(megabytes), mb >= 1, mb <= 1 << 20 else {
            throw fail("HOMELAB_AGENT_SPOOL_MAX_MB", "\"\(megabytes)\" is not a whole number of MiB from 1 to 1048576")
        }
        spoolMaxBytes = mb << 20

        let base = try Configuration(environment: environment)  // HOMELAB_HEARTBEAT_SECONDS, HOMELAB_LOG_LEVEL
        heartbeat = .seconds(base.heartbeatSeconds)
        logLevel = base.logLevel

        switch value("HOMELAB_AGENT_DOCKER") ?? "1" {
        case "1": docker = true
        case "0": docker = false
        case let other: throw fail("HOMELAB_AGENT_DOCKER", "\"\(other)\" is neither 1 (report the Docker engine) nor 0 (do not)")
        }
        allow = []
        for entry in (value("HOMELAB_AGENT_ALLOW") ?? "docker").split(separator: ",").map({ $0.trimmingWhitespace() }) where !entry.isEmpty {
            guard !entry.hasSuffix("/"), !entry.contains(where: \.isWhitespace) else {
                throw fail("HOMELAB_AGENT_ALLOW", "\"\(entry)\" is not a program name or path")
            }
            if !allow.contains(entry) { allow.append(entry) }
        }
        if allow.isEmpty { throw fail("HOMELAB_AGENT_ALLOW", "lists no program (leave it unset for docker)") }
        let concurrencyText = value("HOMELAB_AGENT_CONCURRENCY") ?? "2"
        guard let concurrency = Int(concurrencyText), concurrency >= 1, concurrency <= 64 else {
            throw fail("HOMELAB_AGENT_CONCURRENCY", "\"\(concurrencyText)\" is not a whole number from 1 to 64")
        }
        self.concurrency = concurrency
        self.environment = environment
    }

    /// The kernel's host name, from which the default node name comes.
    public static var hostName: String? { NodeFacts.hostName() }

    /// The runtime root an `--inbox ROOT/inbox` belongs to, if it is one (it has `state/`):
    /// there the agent keeps `state/agent.json` for `homelab health agent`, like the services.
    public var runtimeRoot: RuntimeRoot? {
        guard case .inbox(let path) = delivery, path.hasSuffix("/inbox") else { return nil }
        let root = RuntimeRoot(String(path.dropLast("/inbox".count)))
        return fileKind(root.state) == .directory && root.inbox == path ? root : nil
    }

    private static func trimmed(_ path: String) -> String {
        var path = path
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        return path
    }
}
