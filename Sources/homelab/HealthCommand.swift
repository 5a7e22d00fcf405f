import HomelabCore

extension Command {
    static let health = Command(
        name: "health",
        summary: "exit 0 when a service's heartbeat is fresh (the compose health check)",
        help: """
        usage: homelab health SERVICE

        SERVICE is observer, supervisor, executor, ui or collector. Exit 0 when its heartbeat in
        $HOMELAB_ROOT/state/SERVICE.json is younger than three heartbeat periods
        ($HOMELAB_HEARTBEAT_SECONDS, default 15); otherwise one line saying how old it is, exit 1.
        """,
        run: { arguments in
            guard arguments.count == 1, let service = arguments.first, ServiceHeartbeat.checkable.contains(service) else {
                CommandLine.warn("health: which service? one of \(ServiceHeartbeat.checkable.joined(separator: ", "))")
                return 2
            }
            guard let configuration = Configuration.forCommand("health") else { return 2 }
            let now = Timestamp.now()
            let last = ServiceHeartbeat.last(service, root: configuration.root)
            if ServiceHeartbeat.isFresh(last, heartbeatSeconds: configuration.heartbeatSeconds, now: now) { return 0 }
            let limit = 3 * configuration.heartbeatSeconds
            if let stopped = ServiceHeartbeat.stopped(service, root: configuration.root) {
                CommandLine.warn("health: \(service): stopped at \(stopped.iso8601)")
            } else if let last {
                CommandLine.warn("health: \(service): last heartbeat \(Int(last.seconds(until: now))) s ago (stale after \(limit) s)")
            } else {
                CommandLine.warn("health: \(service): no heartbeat in \(configuration.root.serviceState(service))")
            }
            return 1
        }
    )
}
