#if canImport(Glibc)
import Glibc
#endif
import FSWatch

/// The service skeleton: every daemon (observer, supervisor, executor, ui, collector) starts
/// and stops this one way.
///
/// Start, in order: the lock (one instance per root, for a service that `runsAlone`), one reactor, the signals (SIGTERM and
/// SIGINT stop the loop, SIGHUP is the service's `reload`), the service's own start, the
/// first status. Then the loop, with the status rewritten every heartbeat. Stop, in reverse
/// and bounded (swift-service-lifecycle's graceful shutdown): SIGTERM asks the service to
/// `stop` while the loop still runs, and the loop ends when it is done or after
/// `stopTimeout` (a second signal ends it at once); then the service's `shutdown`, the last
/// status (with `stoppedAt`, so readers see it down at once instead of three heartbeats
/// later), every descriptor closed, the lock released.
public enum ServiceRunner {
    public struct Settings: Sendable {
        public var name: String
        /// Where the lock and the status live; nil for a service run outside a runtime root
        /// (a collector delivering into a plain folder).
        public var root: RuntimeRoot?
        public var heartbeat: Duration
        public var stopTimeout: Duration

        public init(name: String, root: RuntimeRoot?, heartbeat: Duration, stopTimeout: Duration = .seconds(10)) {
            self.name = name
            self.root = root
            self.heartbeat = heartbeat
            self.stopTimeout = stopTimeout
        }
    }

    /// Runs `service` until SIGTERM/SIGINT or its own failure (thrown after the teardown).
    public static func run(_ service: some Service, _ settings: Settings, logger: Logger) throws {
        let lock = try settings.root.flatMap { root in
            service.runsAlone ? try ServiceLock(path: root.serviceLock(settings.name), service: settings.name, root: root.path) : nil
        }
        defer { lock?.release() }
        let reactor = try Reactor()
        defer { reactor.shutdown() }
        var stopping = false
        try reactor.onSignals(Signals.termination) { signal in
            guard !stopping else {
                logger.info("\(Signals.name(signal)) received again: stopping now")
                return reactor.stop()
            }
            stopping = true
            logger.info("\(Signals.name(signal)) received: stopping")
            reactor.timer(after: settings.stopTimeout) {
                logger.warning("still stopping after \(settings.stopTimeout): stopping anyway")
                reactor.stop()
            }
            service.stop { reactor.stop() }
        }
        try reactor.onSignals([SIGHUP]) { _ in
            logger.info("SIGHUP received")
            service.reload()
        }
        let status = StatusWriter(name: settings.name, root: settings.root, logger: logger)
        service.onStatusChange { status.write(service.statusDetails) }
        try service.start(on: reactor)
        status.write(service.statusDetails)
        reactor.timer(after: settings.heartbeat, repeating: settings.heartbeat) { status.write(service.statusDetails) }
        try reactor.run()
        service.shutdown()
        status.write(service.statusDetails, stopped: true)
        if let failure = service.failure { throw failure }
    }

    /// The status file as this process writes it.
    private final class StatusWriter {
        let name: String
        let root: RuntimeRoot?
        let logger: Logger
        let startedAt = Timestamp.now()
        private var warned = false

        init(name: String, root: RuntimeRoot?, logger: Logger) {
            self.name = name
            self.root = root
            self.logger = logger
        }

        func write(_ details: JSONObject, stopped: Bool = false) {
            guard let root else { return }
            let now = Timestamp.now().iso8601Milliseconds
            let status = ServiceStatus(service: name, pid: Int(ProcessID.current), startedAt: startedAt.iso8601, heartbeatAt: now,
                                       stoppedAt: stopped ? now : nil, details: details)
            do {
                try status.write(root: root)
                warned = false
            } catch {
                if !warned { logger.warning("could not write the heartbeat: \(error)") }
                warned = true  // once per outage, not once per beat
            }
        }
    }
}
