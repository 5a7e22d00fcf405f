#if canImport(Glibc)
import Glibc
#endif
import Collector
import FSWatch
import HomelabCore

/// `homelab agent` (SPEC §11): one process per node, one loop. It reports the node — a
/// `node.heartbeat` every period, its facts when they change materially — and the node's
/// Docker engine (`DockerCollector`), forwards what is dropped into its own inbox, and
/// delivers all of it through one transport (a local inbox, or HTTP to the VPS).
///
/// Every event but the heartbeat is spooled first (`Spool`), durably, and delivered from the
/// spool (`Delivery`) in the loop turn it was spooled in; it leaves the spool once the
/// transport acknowledged it. Heartbeats are not spooled: only the newest unsent one is kept
/// and goes with the next delivery. Idle, the agent wakes for its heartbeat timer only.
///
/// When the spool reaches its cap, container and node reports are not spooled but counted
/// (`gaps`, kept in the cursor across restarts) and inbox files wait where they are; once
/// deliveries make room the collector takes a fresh snapshot and the facts are reported
/// afresh, so the world is right again afterwards.
public final class AgentService: Service, CollectorSink {
    public static let service = "agent"

    private let settings: AgentSettings
    private let logger: Logger
    private let source: String
    private var reactor: Reactor!
    private var spool: Spool!
    private var delivery: Delivery!
    private var inbox: AgentInbox!
    private var collector: DockerCollector?
    /// Actions the VPS hands this node (HTTP only: with `--inbox` the agent is the VPS's own,
    /// and the executor runs its actions itself).
    private var actions: RemoteActions?
    private var beatTimer: LoopTimer?
    private var flushScheduled = false
    /// The facts last reported, and the engine's version as the collector last said.
    private var reportedFacts: NodeFacts?
    private var dockerVersion: String?
    /// The spool is at its cap: since when, and the gap count then.
    private var full: (since: MonotonicTime, gaps: Int)?
    private var spooledCount = 0
    private let startedAt = Timestamp.now()
    private var lastSummary = MonotonicTime.now()

    public init(settings: AgentSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
        source = "node/" + settings.node
    }

    public func start(on reactor: Reactor) throws {
        self.reactor = reactor
        for folder in [settings.spool, settings.inbox, settings.rejected] { try Self.makeFolder(folder) }
        spool = try Spool(folder: settings.spool, maxBytes: settings.spoolMaxBytes)
        if spool.tornBytes > 0 { logger.warning("cut off a torn last line (\(spool.tornBytes) bytes) left in the spool by a crash") }
        let transport: Transport
        switch settings.delivery {
        case .inbox(let path): transport = InboxTransport(inbox: path, source: source)
        case .server(let url): transport = HTTPTransport(server: url, token: settings.token!, reactor: reactor, logger: logger, timeout: settings.requestTimeout)
        }
        let rejected = RejectedFolder(path: settings.rejected)
        delivery = Delivery(spool: spool, transport: transport, reactor: reactor, logger: logger, rejected: rejected) { [unowned self] in
            acknowledged()
        }
        inbox = try AgentInbox(path: settings.inbox, rejected: settings.rejected, node: settings.node, spool: spool, reactor: reactor,
                               logger: logger, spooled: { [unowned self] in delivery.kick() }, full: { [unowned self] in noteFull() })
        try inbox.start()
        logger.info("agent for node/\(settings.node): delivering to \(transport.target) (\(transport.kind)); spool \(settings.spool) "
            + "holds \(spool.depth) events (\(spool.bytes) bytes, cap \(settings.spoolMaxBytes >> 20) MiB, \(spool.gaps) gaps so far); inbox \(settings.inbox)")
        if settings.docker {
            collector = DockerCollector(settings: .init(host: settings.node, environment: settings.environment), sink: self, logger: logger)
            collector!.start(on: reactor)
        } else {
            logger.info("Docker is not reported (HOMELAB_AGENT_DOCKER=0)")
        }
        if case .server(let url) = settings.delivery {
            actions = RemoteActions(settings: settings, server: url, token: settings.token!, reactor: reactor, logger: logger)
            try actions!.start()
        }
        beatTimer = reactor.timer(after: .zero, repeating: settings.heartbeat) { [unowned self] in beat() }
    }

    public func shutdown() {
        beatTimer?.cancel()
        actions?.close()
        collector?.shutdown()
        inbox?.close()
        delivery?.close()
        do { try spool?.sync() } catch { logger.error("cannot sync the spool: \(error)") }
        writeStatus(stopped: true)
        spool?.close()
        let counters = delivery?.counters ?? Delivery.Counters()
        logger.info("stopped: \(spooledCount + (inbox?.forwarded ?? 0)) spooled, \(counters.delivered) delivered, \(spool?.depth ?? 0) left in the spool")
    }

    public func reload() {
        delivery.transport.reload()
        actions?.reload()
    }

    // MARK: The heartbeat

    /// Every period: the facts (reported if they changed), the heartbeat, the status.
    private func beat() {
        // The status and the summary first: they say how the period ended, before this beat's
        // own reports are spooled.
        writeStatus()
        let delivered = delivery.takeSummary()
        if delivered > 0 {
            let seconds = (MonotonicTime.now() - lastSummary).milliseconds / 1000
            logger.info("delivered \(delivered) events in \(String(format2: seconds)) s; \(spool.depth) spooled (\(spool.bytes) bytes)")
        }
        lastSummary = MonotonicTime.now()
        checkFacts(force: reportedFacts == nil)
        let event = InboxWriter(inbox: "", source: source).event(type: "node.heartbeat", subject: source, data: nil)
        delivery.hold(event)
        scheduleFlush()
    }

    /// Samples the node; reports it if it changed materially since the last report (or `force`).
    private func checkFacts(force: Bool = false) {
        var facts = NodeFacts.sample(mounts: settings.mounts)
        facts.dockerVersion = dockerVersion
        facts.transport = delivery.transport.kind
        facts.spooled = spool.depth
        facts.gaps = spool.gaps
        guard force || facts.differs(from: reportedFacts) else { return }
        if spoolEvent(type: "resource.observed", subject: source, data: .object(facts.json)) {
            reportedFacts = facts
        }
    }

    // MARK: Spooling

    public func collected(type: String, subject: String, data: JSONValue?) {
        spoolEvent(type: type, subject: subject, data: data)
    }

    public func engineChanged(version: String?) {
        dockerVersion = version
        if reportedFacts != nil { checkFacts() }
    }

    /// Appends one report of this node to the spool; false when it could not be (counted as a gap).
    @discardableResult
    private func spoolEvent(type: String, subject: String, data: JSONValue?) -> Bool {
        let line = InboxWriter(inbox: "", source: source).event(type: type, subject: subject, data: data)
        let snapshot = type == "resource.snapshot"
        let ahead = spool.mayGoAhead(subject: subject, snapshot: snapshot)
        var spooled = false
        do {
            spooled = try spool.append(line, subject: subject, snapshot: snapshot)
        } catch {
            logger.error("cannot append to the spool: \(error); \(type) \(subject) is counted as a gap")
        }
        if spooled {
            spooledCount += 1
            if ahead { delivery.sendAhead(line) }
        } else {
            if spool.isFull { noteFull() }
            spool.countGaps(1)
        }
        scheduleFlush()
        return spooled
    }

    /// The spool reached its cap: said once, until it has room again.
    private func noteFull() {
        guard full == nil else { return }
        full = (MonotonicTime.now(), spool.gaps)
        logger.warning("spool full (\(spool.bytes) bytes, cap \(spool.maxBytes >> 20) MiB, \(spool.depth) events waiting for \(delivery.transport.target)): "
            + "container and node reports are counted as gaps, not spooled, and inbox files wait in \(settings.inbox), until deliveries make room")
    }

    /// One `fdatasync` for everything spooled in this loop turn, then delivery.
    private func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        reactor.runSoon { [weak self] in
            guard let self, spool != nil else { return }
            flushScheduled = false
            do {
                try spool.sync()
            } catch {
                logger.error("cannot sync the spool: \(error)")
            }
            delivery.kick()
        }
    }

    /// After each acknowledgement: once a full spool has room again, make the world right.
    private func acknowledged() {
        guard !spool.isFull else { return }
        if let full {
            self.full = nil
            let seconds = (MonotonicTime.now() - full.since).milliseconds / 1000
            let gaps = spool.gaps - full.gaps
            logger.info("spool has room again after \(String(format2: seconds)) s: \(gaps) reports were not spooled"
                + (gaps > 0 ? "; taking a fresh Docker snapshot and reporting the node's facts afresh" : ""))
            if gaps > 0 {
                collector?.resnapshot()
                checkFacts(force: true)
            }
        }
        if inbox.waitingForRoom { inbox.rescan() }
    }

    // MARK: Status

    public var statusDetails: JSONObject {
        guard let spool, let delivery else { return ["node": .string(settings.node)] }
        let counters = delivery.counters
        var details: JSONObject = [
            "node": .string(settings.node),
            "transport": .string(delivery.transport.kind),
            "target": .string(delivery.transport.target),
            "connected": .bool(delivery.transport.isConnected && !delivery.isFailing),
            "lastDelivery": counters.lastDelivery.map { .string($0.iso8601Milliseconds) } ?? .null,
            "counters": .object([
                "spooled": .int(spooledCount + (inbox?.forwarded ?? 0)), "delivered": .int(counters.delivered), "duplicates": .int(counters.duplicates),
                "rejected": .int(counters.rejected), "gaps": .int(spool.gaps), "heartbeats": .int(counters.heartbeats), "sentAhead": .int(counters.sentAhead),
                "requests": .int(counters.requests), "failures": .int(counters.failures),
                "forwarded": .int(inbox?.forwarded ?? 0), "refused": .int(inbox?.refused ?? 0),
            ]),
            "spool": .object([
                "path": .string(settings.spool), "depth": .int(spool.depth), "bytes": .int(spool.bytes),
                "maxBytes": .int(spool.maxBytes), "full": .bool(spool.isFull),
            ]),
        ]
        details["docker"] = collector.map { .object($0.statusDetails) } ?? .string("off")
        details["actions"] = actions.map { .object($0.statusDetails) } ?? .string("off")
        return details
    }

    /// `.status.json` in the spool: what `homelab health agent --spool PATH` reads on a node
    /// without a runtime root.
    private func writeStatus(stopped: Bool = false) {
        guard spool != nil else { return }
        let now = Timestamp.now().iso8601Milliseconds
        let status = ServiceStatus(service: Self.service, pid: Int(ProcessID.current), startedAt: startedAt.iso8601, heartbeatAt: now,
                                   stoppedAt: stopped ? now : nil, details: statusDetails)
        do {
            try AtomicFile.rewrite(status.bytes, to: Self.statusFile(spool: settings.spool))
        } catch {
            logger.debug("cannot write the status: \(error)")
        }
    }

    public static func statusFile(spool: String) -> String { spool + "/.status.json" }

    private static func makeFolder(_ path: String) throws(SystemError) {
        if mkdir(path, 0o750) != 0 && Errno.current != .fileExists { throw SystemError("mkdir", Errno.current, subject: path) }
    }
}
