/// The services' heartbeats in `state/SERVICE.json`, read the same way by `/summary`,
/// `homelab status` and `homelab health`.
public enum ServiceHeartbeat {
    public static let services = ["observer", "supervisor", "executor", "ui"]
    /// Everything `homelab health` can check: the services and the Docker collector.
    public static let checkable = services + ["collector"]

    /// When `service` last wrote its heartbeat, if it ever did and has not stopped since.
    public static func last(_ service: String, root: RuntimeRoot) -> Timestamp? {
        let status = FileContents.object(root.serviceState(service))
        guard status?["stoppedAt"] == nil else { return nil }
        return status?["heartbeatAt"]?.string.flatMap { Timestamp(rfc3339: $0) }
    }

    /// When `service` stopped, if its last word was that it did.
    public static func stopped(_ service: String, root: RuntimeRoot) -> Timestamp? {
        FileContents.object(root.serviceState(service))?["stoppedAt"]?.string.flatMap { Timestamp(rfc3339: $0) }
    }

    /// A service that ends says so in its status file, so it is not taken for up until its
    /// heartbeat ages out; its next start rewrites the file without it. Only the file this
    /// process wrote is touched (a second instance refused by the lock must not mark the first).
    public static func markStopped(_ service: String, root: RuntimeRoot) {
        guard var status = FileContents.object(root.serviceState(service)),
              status["pid"]?.int == Int(ProcessID.current) else { return }
        status["stoppedAt"] = .string(Timestamp.now().iso8601Milliseconds)
        try? AtomicFile.rewrite(JSONWriter.encode(.object(status)) + [0x0A], to: root.serviceState(service))
    }

    /// Fresh while younger than three periods: one late beat is a busy moment, three are a
    /// service that is gone.
    public static func isFresh(_ at: Timestamp?, heartbeatSeconds: Int, now: Timestamp = .now()) -> Bool {
        guard let at else { return false }
        return at.seconds(until: now) < Double(3 * heartbeatSeconds)
    }
}
