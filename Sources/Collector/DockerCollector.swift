#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// Where the collector's reports go: the agent spools them (SPEC §10–11).
public protocol CollectorSink: AnyObject {
    /// One report about a container of this node (`subject` is `container/NODE/…`).
    func collected(type: String, subject: String, data: JSONValue?)
    /// The engine's version once it answers after a (re)connect; nil once it is lost.
    func engineChanged(version: String?)
}

/// Follows the node's Docker engine and reports every container (SPEC §10) to a sink —
/// `resource.observed` when one changes, `resource.removed` when one goes, and a
/// `resource.snapshot` of all of them at start and after every reconnect, so the world
/// matches the engine without polling. It runs inside `homelab agent`.
///
/// The stream is `docker events` as a child process, read line by line in the loop. It is
/// started first, with `--since` a moment back, and the snapshot (`docker ps` then
/// `docker inspect`) taken second, so no change falls between the two; events that arrive
/// while the snapshot is in flight wait and are applied after it. An event that says what
/// changed (`die`: exited, `start`: running, a health status) is reported at once, from the
/// event alone — a `docker inspect` costs a CLI start-up, tens of milliseconds — and then
/// confirmed: one `docker inspect` for every container that changed since the last one, whose
/// answer is reported where it differs from what was said. When the stream ends (the engine
/// went away), or there is no docker CLI on PATH yet, the collector tries again with
/// exponential backoff.
public final class DockerCollector {
    public struct Settings: Sendable {
        /// The node's name: subjects are `container/NODE/NAME`.
        public var host: String
        /// The docker CLI: a name looked up on the environment's PATH at every connect (it may
        /// be installed after the agent started), or a path.
        public var docker: String
        /// The CLI's environment (DOCKER_HOST, DOCKER_CONFIG, … pass through).
        public var environment: [String: String]
        public var minBackoff: Duration = .milliseconds(500)
        public var maxBackoff: Duration = .seconds(30)

        public init(host: String, docker: String = "docker", environment: [String: String]) {
            self.host = host
            self.docker = docker
            self.environment = environment
        }
    }

    private let settings: Settings
    private let logger: Logger
    private unowned let sink: CollectorSink
    private var reactor: Reactor?

    private var stream: RunningCommand?
    private var oneShot: RunningCommand?
    private var versionQuery: RunningCommand?
    /// Bumped on every (re)connect: what an older connection's commands report is dropped.
    private var generation = 0
    private var snapshotting = false
    private var held: [EngineEvent] = []
    private var changed: [String: String] = [:]  // id → last known name
    /// What was last reported of each container, by id.
    private var known: [String: (name: String, observed: JSONObject)] = [:]
    private var inspecting = false
    /// Containers destroyed while an inspect was in flight: what that inspect says of them
    /// (`"state": "removing"`) is older than their removal, and must not bring them back.
    private var destroyedDuringInspect: Set<String> = []
    private var backoff: Backoff
    private var reconnectTimer: LoopTimer?
    /// The CLI as found on PATH at the last connect.
    private var docker = "docker"
    /// A failure was logged and nothing has worked since: the retries are logged at debug.
    private var failing = false
    /// A fresh snapshot was asked for while one was being taken.
    private var snapshotWanted = false
    public private(set) var snapshots = 0
    public private(set) var reported = 0
    public private(set) var engineVersion: String?

    public init(settings: Settings, sink: CollectorSink, logger: Logger) {
        self.settings = settings
        self.sink = sink
        self.logger = logger
        backoff = Backoff(first: settings.minBackoff, longest: settings.maxBackoff)
    }

    /// Connects on `reactor`; runs until `shutdown`.
    public func start(on reactor: Reactor) {
        self.reactor = reactor
        logger.info("collecting docker containers as container/\(settings.host)/NAME")
        connect()
    }

    /// Ends the stream and whatever command is in flight (CLI reads: nothing to clean up, so
    /// no grace).
    public func shutdown() {
        generation += 1
        reconnectTimer?.cancel()
        stream?.cancel()
        oneShot?.cancel()
        versionQuery?.cancel()
        stream = nil
        oneShot = nil
        versionQuery = nil
        logger.info("collector stopped: \(snapshots) snapshots, \(reported) reports")
    }

    /// A new snapshot of every container, as after a reconnect: what the agent asks for once
    /// its spool has room again after dropping reports.
    public func resnapshot() {
        guard reactor != nil, stream != nil else { return }  // not connected: the reconnect snapshots anyway
        if snapshotting {
            snapshotWanted = true
            return
        }
        stream?.cancel()
        stream = nil
        oneShot?.cancel()
        oneShot = nil
        connect()
    }

    public var statusDetails: JSONObject {
        ["connected": .bool(stream != nil && !snapshotting), "engineVersion": engineVersion.map { .string($0) } ?? .null,
         "snapshots": .int(snapshots), "reported": .int(reported)]
    }

    // MARK: connection

    private func connect() {
        guard let reactor else { return }
        generation += 1
        let current = generation
        snapshotting = true
        held = []
        changed = [:]
        inspecting = false
        let since = String(Timestamp.now().secondsSinceEpoch - 2)
        guard let docker = ChildProcess.locate(settings.docker, path: settings.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin") else {
            problem("no \(settings.docker) CLI on PATH; Docker is not reported until there is one (retrying in \(Self.seconds(backoff.next)))")
            retry()
            return
        }
        self.docker = docker
        do {
            stream = try RunningCommand(
                [docker, "events", "--format", "{{json .}}", "--filter", "type=container", "--since", since],
                environment: settings.environment, reactor: reactor,
                onLine: { [unowned self] line in if current == generation { received(line) } },
                onExit: { [unowned self] exit in if current == generation { streamEnded(exit) } })
        } catch {
            problem("cannot start \(docker) events: \(error)")
            retry()
            return
        }
        takeSnapshot(current)
    }

    private func streamEnded(_ exit: ChildProcess.Exit) {
        problem("the engine's event stream ended (\(exit)): reconnecting in \(Self.seconds(backoff.next))")
        oneShot?.cancel()
        oneShot = nil
        stream = nil
        retry()
    }

    private func retry() {
        generation += 1
        if engineVersion != nil {
            engineVersion = nil
            sink.engineChanged(version: nil)
        }
        guard let reactor else { return }
        reconnectTimer = reactor.timer(after: backoff.take()) { [unowned self] in connect() }
    }

    /// A warning for the first failure of an outage; its retries are debug lines, so an agent
    /// on a node without Docker does not log every 30 s.
    private func problem(_ message: String) {
        if failing {
            logger.debug(message)
        } else {
            logger.warning(message)
            failing = true
        }
    }

    // MARK: snapshot

    private func takeSnapshot(_ current: Int) {
        var ids: [String] = []
        var errors: [String] = []
        run([docker, "ps", "--all", "--quiet", "--no-trunc"], current, onLine: { line in
            let text = String(decoding: line, as: UTF8.self)
            if text.allSatisfy(\.isHexDigit), !text.isEmpty { ids.append(text) } else { errors.append(text) }
        }) { [unowned self] exit in
            guard exit == .exited(0) else { return snapshotFailed("docker ps", exit, errors) }
            guard !ids.isEmpty else { return snapshotTaken([], current) }
            var reports: [ContainerReport] = []
            run(inspect(ids), current, onLine: { line in
                if let report = ContainerReport.parse(line) { reports.append(report) }
            }) { [unowned self] _ in
                // A container removed between `ps` and `inspect` is simply not in the answer.
                snapshotTaken(reports, current)
            }
        }
    }

    private func snapshotFailed(_ what: String, _ exit: ChildProcess.Exit, _ output: [String]) {
        problem("\(what) failed (\(exit)): \(output.last ?? "no output"); reconnecting in \(Self.seconds(backoff.next))")
        stream?.cancel()
        stream = nil
        retry()
    }

    private func snapshotTaken(_ reports: [ContainerReport], _ current: Int) {
        var resources: JSONObject = [:]
        known = [:]
        for report in reports where valid(report.name) {
            resources[settings.host + "/" + report.name] = .object(report.observed)
            known[report.id] = (report.name, report.observed)
        }
        emit(type: "resource.snapshot", subject: "container/" + settings.host, data: .object(["resources": .object(resources)]))
        snapshots += 1
        logger.info("snapshot: \(resources.count) containers on \(settings.host); following the engine's events")
        backoff.reset()
        failing = false
        snapshotting = false
        if snapshotWanted {
            snapshotWanted = false
            return resnapshot()
        }
        let waiting = held
        held = []
        // Held events may be replays from before the snapshot (`--since`): only the inspect
        // decides what they changed, never the event alone.
        for event in waiting { apply(event, fromEventAlone: false) }
        inspectChanged(current)
        askVersion(current)
    }

    /// The engine's version, for the node's facts; asked once per connection, after the
    /// snapshot (one more CLI start-up, never on the snapshot's path).
    private func askVersion(_ current: Int) {
        guard let reactor else { return }
        var answer: String?
        versionQuery?.cancel()  // an older connection's, still waiting
        do {
            versionQuery = try RunningCommand([docker, "version", "--format", "{{.Server.Version}}"], environment: settings.environment, reactor: reactor,
                                   onLine: { line in answer = answer ?? String(decoding: line, as: UTF8.self).trimmingWhitespace() },
                                   onExit: { [unowned self] exit in
                                       versionQuery = nil
                                       guard current == generation, exit == .exited(0), let answer, !answer.isEmpty, answer != engineVersion else { return }
                                       engineVersion = answer
                                       sink.engineChanged(version: answer)
                                   })
        } catch {
            logger.debug("cannot ask the engine's version: \(error)")
        }
    }

    // MARK: events

    private func received(_ line: [UInt8]) {
        guard let event = EngineEvent.parse(line) else {
            logger.debug("not an engine event: \(String(decoding: line.prefix(200), as: UTF8.self))")
            return
        }
        if snapshotting {
            held.append(event)
            return
        }
        apply(event)
        inspectChanged(generation)
    }

    private func apply(_ event: EngineEvent, fromEventAlone: Bool = true) {
        switch event.effect {
        case .none: break
        case .inspect:
            changed[event.id] = event.name
            if fromEventAlone, !event.implies.isEmpty, let last = known[event.id], last.name == event.name {
                var observed = last.observed
                for (key, value) in event.implies { observed[key] = .string(value) }
                report(ContainerReport(id: event.id, name: event.name, observed: observed))
            }
        case .destroyed:
            changed[event.id] = nil
            if inspecting { destroyedDuringInspect.insert(event.id) }
            // A destroy replayed by `--since` may be of an older container whose name a live
            // one has taken since: the name goes only if no other container holds it.
            let name = known.removeValue(forKey: event.id)?.name ?? event.name
            if valid(name) && !nameHeld(name, byOtherThan: event.id) { emit(type: "resource.removed", subject: subject(name), data: nil) }
        case .renamed(let old):
            if valid(old) && !nameHeld(old, byOtherThan: event.id) { emit(type: "resource.removed", subject: subject(old), data: nil) }
            changed[event.id] = event.name
        }
    }

    private func nameHeld(_ name: String, byOtherThan id: String) -> Bool {
        known.contains { $0.key != id && $0.value.name == name }
    }

    /// One `docker inspect` for everything that changed since the last one.
    private func inspectChanged(_ current: Int) {
        guard !inspecting, !snapshotting, !changed.isEmpty else { return }
        let batch = changed
        changed = [:]
        inspecting = true
        destroyedDuringInspect = []
        run(inspect(batch.keys.sorted()), current, onLine: { [unowned self] line in
            guard let report = ContainerReport.parse(line), valid(report.name), !destroyedDuringInspect.contains(report.id) else { return }
            self.report(report)
        }) { [unowned self] _ in
            // Not found: destroyed meanwhile, and its destroy event says so.
            inspecting = false
            destroyedDuringInspect = []
            inspectChanged(current)
        }
    }

    /// `docker inspect` of `ids`, one JSON line each (`ContainerReport`).
    private func inspect(_ ids: [String]) -> [String] {
        [docker, "inspect", "--format", ContainerReport.inspectTemplate] + ids
    }

    /// Reports a container unless it is exactly as last reported.
    private func report(_ report: ContainerReport) {
        if let last = known[report.id], last.name == report.name, last.observed == report.observed { return }
        known[report.id] = (report.name, report.observed)
        emit(type: "resource.observed", subject: subject(report.name), data: .object(report.observed))
    }

    // MARK: plumbing

    private func run(_ argv: [String], _ current: Int, onLine: @escaping ([UInt8]) -> Void, onExit: @escaping (ChildProcess.Exit) -> Void) {
        guard let reactor, current == generation else { return }
        do {
            oneShot = try RunningCommand(argv, environment: settings.environment, reactor: reactor,
                                         onLine: { [unowned self] line in if current == generation { onLine(line) } },
                                         onExit: { [unowned self] exit in if current == generation { oneShot = nil; onExit(exit) } })
        } catch {
            logger.error("cannot run \(argv[0]) \(argv[1]): \(error)")
            stream?.cancel()
            stream = nil
            retry()
        }
    }

    private func subject(_ name: String) -> String { "container/\(settings.host)/\(name)" }

    private func valid(_ name: String) -> Bool {
        if case .success = Subject.parse(subject(name)) { return true }
        logger.warning("container \"\(name)\" cannot be named container/\(settings.host)/NAME; not reported")
        return false
    }

    private func emit(type: String, subject: String, data: JSONValue?) {
        reported += 1
        sink.collected(type: type, subject: subject, data: data)
    }

    private static func seconds(_ duration: Duration) -> String {
        String(format2: Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18) + " s"
    }
}
