import Agent
import FSWatch
import HomelabCore

extension Command {
    static let health = Command(
        name: "health",
        summary: "exit 0 when a service's heartbeat is fresh (the compose health check)",
        help: """
        usage: homelab health SERVICE
               homelab health agent [--spool PATH]

        SERVICE is observer, supervisor, executor, ui, notifier, collector or agent. Exit 0 when its
        heartbeat in $HOMELAB_ROOT/state/SERVICE.json is younger than three heartbeat periods
        ($HOMELAB_HEARTBEAT_SECONDS, default 15); otherwise one line saying how old it is, exit 1.
        The agent: its state/agent.json when it delivers into a runtime root's inbox; otherwise,
        or with --spool, the .status.json in its spool (--spool, else $HOMELAB_AGENT_SPOOL, else
        /var/lib/homelab-agent).
        """,
        run: { arguments in
            guard let options = Options.parse(arguments, command: "health", valued: ["--spool"], takesArguments: true) else { return 2 }
            guard options.positional.count == 1, let service = options.positional.first, ServiceHeartbeat.checkable.contains(service) else {
                CommandLine.warn("health: which service? one of \(ServiceHeartbeat.checkable.joined(separator: ", "))")
                return 2
            }
            if options.values["--spool"] != nil && service != "agent" {
                CommandLine.warn("health: --spool is for the agent only")
                return 2
            }
            let environment = Configuration.processEnvironment()
            guard let configuration = Configuration.forCommand("health", environment: environment) else { return 2 }
            let root = configuration.root
            let now = Timestamp.now()
            let status: ServiceStatus?
            let path: String
            if service == "agent", options.values["--spool"] != nil || fileKind(root.serviceState(service)) == nil {
                let spool = options.values["--spool"] ?? environment["HOMELAB_AGENT_SPOOL"].flatMap { $0.isEmpty ? nil : $0 } ?? AgentSettings.defaultSpool
                path = AgentService.statusFile(spool: spool)
                status = FileContents.object(path).flatMap { ServiceStatus(json: $0, service: service) }
            } else {
                path = root.serviceState(service)
                status = ServiceStatus.read(service, root: root)
            }
            let last = status?.stoppedAt == nil ? status.flatMap { Timestamp(rfc3339: $0.heartbeatAt) } : nil
            if ServiceHeartbeat.isFresh(last, heartbeatSeconds: configuration.heartbeatSeconds, now: now) { return 0 }
            let limit = 3 * configuration.heartbeatSeconds
            if let stopped = status?.stoppedAt.flatMap({ Timestamp(rfc3339: $0) }) {
                CommandLine.warn("health: \(service): stopped at \(stopped.iso8601)")
            } else if let last {
                CommandLine.warn("health: \(service): last heartbeat \(Int(last.seconds(until: now))) s ago (stale after \(limit) s)")
            } else {
                CommandLine.warn("health: \(service): no heartbeat in \(path)")
            }
            return 1
        }
    )
}
