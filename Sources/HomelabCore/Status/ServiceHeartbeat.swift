import FSWatch

/// The services' heartbeats in `state/SERVICE.json`, read the same way by `/summary`,
/// `homelab status` and `homelab health`.
public enum ServiceHeartbeat {
    public static let services = ["observer", "supervisor", "executor", "ui"]
    /// Services a deployment may run or not: watched once they have ever written a status.
    /// (The notifier too: a stack without notify targets may leave it out.)
    public static let optional = ["collector", "agent", "notifier"]
    /// Everything `homelab health` can check.
    public static let checkable = services + optional

    /// The services `/summary`, `/metrics` and `homelab status` report on `root`: the four,
    /// and each optional one that has run there — so a collector that died shows as down
    /// instead of not at all.
    public static func reported(root: RuntimeRoot) -> [String] {
        services + optional.filter { fileKind(root.serviceState($0)) != nil }
    }

    /// When `service` last wrote its heartbeat, if it ever did and has not stopped since.
    public static func last(_ service: String, root: RuntimeRoot) -> Timestamp? {
        guard let status = ServiceStatus.read(service, root: root), status.stoppedAt == nil else { return nil }
        return Timestamp(rfc3339: status.heartbeatAt)
    }

    /// When `service` stopped, if its last word was that it did.
    public static func stopped(_ service: String, root: RuntimeRoot) -> Timestamp? {
        ServiceStatus.read(service, root: root)?.stoppedAt.flatMap { Timestamp(rfc3339: $0) }
    }

    /// How long a heartbeat stays fresh: three periods. One late beat is a busy moment, three
    /// are a service that is gone.
    public static func freshFor(heartbeatSeconds: Int) -> Double { Double(3 * heartbeatSeconds) }

    public static func isFresh(_ at: Timestamp?, heartbeatSeconds: Int, now: Timestamp = .now()) -> Bool {
        guard let at else { return false }
        return at.seconds(until: now) < freshFor(heartbeatSeconds: heartbeatSeconds)
    }
}
