#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// The supervisor (SPEC §5–6): desired state against the world, drift, and one proposal per
/// remediable drift in `actions/pending/`.
///
/// It keeps the world, the action queue and the inventory in memory, each current from its
/// folder's change events. A world change re-evaluates just the resources it touched, at
/// once (that is the proposal latency); an inventory change (a checkout rewriting many files)
/// or an action changing state is debounced into one full evaluation. Staleness and retry
/// back-offs are deadlines on one timer: nothing is polled.
public final class SupervisorService {
    public static let service = "supervisor"

    public struct Settings: Sendable {
        /// Quiet time after the last inventory or queue change before re-evaluating.
        public var debounce: Duration = .milliseconds(200)
        /// Before attempt N+1 of a drift whose action finished: this × 2^(N-1), at most an hour.
        public var retryBackoffSeconds: Double = 60
        public init() {}
    }

    private let root: RuntimeRoot
    private let inventoryFolder: String
    private let repo: String
    private let logger: Logger
    private let settings: Settings
    private let heartbeat: Duration
    private let startedAt = Timestamp.now()
    private let inbox: InboxWriter

    private(set) var inventory = Inventory()
    private(set) var revision = ""
    private var world: WorldView
    private var actions: ActionQueue
    private var drifts: [Subject: [Drift]] = [:]
    /// Each drifting resource's encoded entries for `drift.json`, by resource.
    private var reportEntries: [String: [UInt8]] = [:]
    /// Per resource: drift kind → the action that answers it.
    private var answers: [Subject: [Drift.Kind: String]] = [:]
    private var retryDeadlines: [Timestamp] = []
    /// When the wake timer is set to fire, on the wall clock.
    private var wakeAt: Timestamp?

    private weak var reactor: Reactor?
    private var watches: [DirectoryWatch] = []
    private var debounceTimer: LoopTimer?
    private var wakeTimer: LoopTimer?
    private var reportPending = false
    private var reloadPending = false
    /// Set once the watches' first scans are in and the first evaluation ran.
    private var started = false

    /// Full evaluations (start-up, inventory, queue, deadlines), and per-resource ones.
    public private(set) var fullEvaluations = 0
    public private(set) var resourceEvaluations = 0
    public private(set) var proposed = 0
    public private(set) var superseded = 0

    public init(configuration: Configuration, logger: Logger, settings: Settings = Settings()) {
        root = configuration.root
        inventoryFolder = configuration.inventory
        repo = configuration.repo
        self.logger = logger
        self.settings = settings
        heartbeat = .seconds(configuration.heartbeatSeconds)
        // Proposals and their events are derived state: after a crash the same drift is
        // proposed again under the same ID, so neither is fsynced.
        inbox = InboxWriter(inbox: configuration.root.inbox, source: Self.service, durability: .none)
        world = WorldView(folder: configuration.root.world)
        actions = ActionQueue(root: configuration.root)
    }

    /// Serves until SIGTERM/SIGINT.
    public func run() throws {
        try root.create()
        let lock = try ServiceLock(path: root.state + "/supervisor.lock", service: Self.service, root: root.path)
        defer { lock.release() }
        let reactor = try Reactor()
        defer { reactor.shutdown() }
        try reactor.stopOnTermination { [logger] signal in logger.info("\(Signals.name(signal)) received: stopping") }
        try reactor.onSignals([SIGHUP]) { [unowned self] _ in
            logger.info("SIGHUP received: reloading the inventory")
            reloadInventory()
        }
        try start(on: reactor)
        try reactor.run()
        writeStatus()
        logger.info("stopped: \(proposed) proposed, \(superseded) superseded, \(fullEvaluations) full evaluations")
    }

    /// Loads the inventory, then registers the watches and timers on `reactor`. The watches
    /// are set before anything is read: their first scans fill the world and the queue, and
    /// the first full evaluation runs right after them, on the loop's first turn.
    public func start(on reactor: Reactor) throws {
        self.reactor = reactor
        try loadInventory()
        watches = [
            try DirectoryWatch(reactor: reactor, root: root.actions, options: .recursive) { [unowned self] events in queueChanged(events) },
            try DirectoryWatch(reactor: reactor, root: root.world, options: .recursive) { [unowned self] events in worldChanged(events) },
            try DirectoryWatch(reactor: reactor, root: inventoryFolder, options: .recursive) { [unowned self] _ in
                guard started else { return }  // its first scan: loaded above already
                reloadPending = true
                debounce()
            },
        ]
        debounceTimer = reactor.timer { [unowned self] in
            if reloadPending { reloadInventory() } else { evaluate(nil) }
        }
        wakeTimer = reactor.timer { [unowned self] in evaluate(nil) }
        reactor.timer(after: heartbeat, repeating: heartbeat) { [unowned self] in writeStatus() }
        reactor.runSoon { [unowned self] in
            started = true
            let began = MonotonicTime.now()
            evaluate(nil)
            writeReport()
            writeStatus()
            logger.info("supervising \(inventory.resources.count) desired resources with \(inventory.catalog.count) catalog actions (revision \(revision)); world at seq \(world.seq); first evaluation took \(String(format2: (MonotonicTime.now() - began).milliseconds)) ms")
        }
    }

    // MARK: Changes

    private func worldChanged(_ events: [WatchEvent]) {
        var touched: Set<Subject> = []
        for event in events {
            switch event.kind {
            case .ready, .removed:
                if let subject = world.update(event.path) { touched.insert(subject) }
            case .directoryRemoved where event.path != root.world && started:
                world.loadAll()  // a whole kind or host folder went: start over
                evaluate(nil)
                return
            default:
                continue
            }
        }
        if started && !touched.isEmpty { evaluate(touched) }
    }

    private func queueChanged(_ events: [WatchEvent]) {
        for event in events {
            switch event.kind {
            case .ready: actions.note(event.path, present: true)
            case .removed: actions.note(event.path, present: false)
            default: continue
            }
        }
        if started { debounce() }
    }

    private func debounce() { debounceTimer?.schedule(after: settings.debounce) }

    private func loadInventory() throws {
        inventory = try Inventory.load(inventoryFolder)
        revision = DesiredRevision.read(repo: repo, inventory: inventoryFolder)
        for problem in inventory.problems { logger.warning("inventory: \(problem)") }
    }

    private func reloadInventory() {
        reloadPending = false
        let began = MonotonicTime.now()
        do {
            try loadInventory()
        } catch {
            logger.error("\(error); keeping the inventory loaded before")
        }
        let loaded = MonotonicTime.now()
        evaluate(nil)
        logger.info("inventory reloaded (revision \(revision)): \(inventory.resources.count) resources, \(inventory.catalog.count) actions, \(inventory.problems.count) problems; read in \(String(format2: (loaded - began).milliseconds)) ms, evaluated in \(String(format2: (MonotonicTime.now() - loaded).milliseconds)) ms")
    }

    // MARK: Evaluation

    /// Re-evaluates `subjects` (nil: everything), proposes what is missing, supersedes what is
    /// no longer wanted among their pending actions.
    func evaluate(_ subjects: Set<Subject>?) {
        let now = Timestamp.now()
        if subjects == nil {
            fullEvaluations += 1
            retryDeadlines.removeAll()
        } else {
            resourceEvaluations += 1
        }
        let scope = subjects ?? Set(inventory.resources.keys).union(world.resources.keys).union(drifts.keys)
        for subject in scope {
            var found: [Drift] = []
            let desired = inventory.resources[subject]
            if let desired {
                found = Drift.of(desired, world.resources[subject], now: now)
            } else if world.resources[subject] != nil {
                found = [Drift(subject: subject, kind: .unmanaged, fields: [])]
            }
            drifts[subject] = found.isEmpty ? nil : found
            var answer: [Drift.Kind: String] = [:]
            for drift in found {
                guard let desired, let rule = Proposal.rule(for: drift, in: desired) else { continue }
                if let id = answerFor(Proposal(drift: drift, rule: rule), now: now) { answer[drift.kind] = id }
            }
            answers[subject] = answer.isEmpty ? nil : answer
            reportEntries[subject.description] = reportEntry(subject)
        }
        var unwanted: [(id: String, subject: Subject)] = []
        if subjects == nil {
            for (id, resource) in actions.pendingResources {
                if let subject = try? Subject.parse(resource).get(), answers[subject]?.values.contains(id) != true { unwanted.append((id, subject)) }
            }
        } else {
            for subject in scope {
                for id in actions.pendingByResource[subject.description] ?? [] where answers[subject]?.values.contains(id) != true {
                    unwanted.append((id, subject))
                }
            }
        }
        for (id, subject) in unwanted.sorted(by: { $0.id < $1.id }) {
            supersede(id, reason: drifts[subject] == nil ? "the drift is gone: the world caught up" : "the desired state changed (revision \(revision))")
        }
        scheduleWake(now: now, touched: subjects)
        scheduleReport()
    }

    /// The action that answers a proposal now, proposing a new attempt where one is due.
    private func answerFor(_ proposal: Proposal, now: Timestamp) -> String? {
        var attempt = 1
        var latest: (attempt: Int, state: RuntimeRoot.ActionState)?
        while let state = actions.states[proposal.id(attempt: attempt)] {
            latest = (attempt, state)
            attempt += 1
        }
        guard let latest else { return propose(proposal, attempt: 1, now: now) }
        let id = proposal.id(attempt: latest.attempt)
        switch latest.state {
        case .pending, .approved, .running, .rejected:
            return id  // in hand, or refused by the operator: not proposed again
        case .superseded:
            return propose(proposal, attempt: latest.attempt + 1, now: now)
        case .done, .failed:
            let backoff = min(settings.retryBackoffSeconds * Double(1 << min(latest.attempt - 1, 20)), 3600)
            let due = (actions.finishedAt(id) ?? now).adding(seconds: backoff)
            if due <= now { return propose(proposal, attempt: latest.attempt + 1, now: now) }
            retryDeadlines.append(due)
            return id
        }
    }

    private func propose(_ proposal: Proposal, attempt: Int, now: Timestamp) -> String? {
        guard let entry = inventory.catalog[proposal.rule.action] else { return nil }
        let argv: [String]
        switch ActionResolver.resolve(entry, args: proposal.rule.args) {
        case .success(let resolved): argv = resolved
        case .failure(let failure):
            logger.warning("cannot propose \(proposal.rule.action) for \(proposal.drift.subject): \(failure)")
            return nil
        }
        let id = proposal.id(attempt: attempt)
        let approvedBy = entry.autoApprove ? "policy" : nil
        let state: RuntimeRoot.ActionState = entry.autoApprove ? .approved : .pending
        let path = root.actions(state) + "/" + id + ".json"
        let file = proposal.file(attempt: attempt, preview: argv, revision: revision, worldSeq: world.seq, at: now, approvedBy: approvedBy)
        do {
            try AtomicFile.write(JSONWriter.encode(.object(file)) + [0x0A], to: path, durability: .none)
        } catch {
            logger.error("could not write the proposal \(id): \(error)")
            return nil
        }
        actions.note(path, present: true)
        proposed += 1
        let summary: JSONObject = [
            "actor": .string(Self.service), "action": .string(proposal.rule.action), "resource": .string(proposal.drift.subject.description),
            "drift": .string(proposal.drift.kind.rawValue), "attempt": .int(attempt),
        ]
        emit("action.proposed", id, summary)
        if let approvedBy {
            var approval = summary
            approval["actor"] = .string(approvedBy)
            emit("action.approved", id, approval)
        }
        logger.info("proposed \(id): \(proposal.rule.action) for \(proposal.drift.subject) (\(proposal.drift.kind.rawValue), attempt \(attempt))\(approvedBy == nil ? "" : ", approved by policy")")
        return id
    }

    /// Moves a pending action to `superseded/` — one rename, so an operator approving it at the
    /// same moment either wins (and this does nothing) or loses with a clear 409.
    private func supersede(_ id: String, reason: String) {
        let from = root.actions(.pending) + "/" + id + ".json"
        let to = root.actions(.superseded) + "/" + id + ".json"
        if rename(from, to) != 0 {
            if Errno.current != .noSuchFile { logger.warning("could not supersede \(id): \(Errno.current)") }
            return  // someone else decided first
        }
        actions.note(from, present: false)
        actions.note(to, present: true)
        if var file = FileContents.object(to) {
            file["supersededAt"] = .string(Timestamp.now().iso8601)
            file["supersededReason"] = .string(reason)
            try? AtomicFile.write(JSONWriter.encode(.object(file)) + [0x0A], to: to, durability: .none)
        }
        superseded += 1
        emit("action.superseded", id, ["actor": .string(Self.service), "reason": .string(reason)])
        logger.info("superseded \(id): \(reason)")
    }

    private func emit(_ type: String, _ id: String, _ data: JSONObject) {
        do {
            try inbox.emit(type: type, subject: "action/" + id, data: .object(data))
        } catch {
            logger.warning("could not emit \(type) for \(id): \(error)")
        }
    }

    /// One timer for the next stale deadline or retry, whichever comes first. A full
    /// evaluation recomputes it; a partial one can only bring it forward (a deadline that moved
    /// later costs one early wake-up, which finds nothing and sets the timer again).
    private func scheduleWake(now: Timestamp, touched: Set<Subject>?) {
        var next = touched == nil ? nil : wakeAt.flatMap { $0 > now ? $0 : nil }
        if let retry = retryDeadlines.min() { next = min(next ?? retry, retry) }
        for subject in touched ?? Set(inventory.resources.keys) {
            guard let desired = inventory.resources[subject],
                  let deadline = Drift.staleDeadline(desired, world.resources[subject]), deadline > now else { continue }
            next = min(next ?? deadline, deadline)
        }
        guard next != wakeAt || touched == nil else { return }
        wakeAt = next
        guard let next else {
            wakeTimer?.cancel()
            return
        }
        let delay = now.seconds(until: next)
        wakeTimer?.schedule(after: .nanoseconds(Int64(max(delay, 0) * 1e9) + 1_000_000))
    }

    // MARK: Reports

    /// `drift.json` follows changes within 50 ms, written at most once per that interval:
    /// with thousands of resources it is megabytes, and proposals must not wait behind it.
    private func scheduleReport() {
        guard !reportPending, let reactor else { return }
        reportPending = true
        reactor.timer(after: .milliseconds(50)) { [unowned self] in
            reportPending = false
            writeReport()
        }
    }

    /// `state/drift.json` (SPEC §5).
    func writeReport() {
        let began = MonotonicTime.now()
        defer { logger.debug("drift.json written in \(String(format2: (MonotonicTime.now() - began).milliseconds)) ms") }
        var writer = JSONWriter(reservingCapacity: reportEntries.count * 200 + 256)
        writer.appendRaw("{\"generatedAt\":")
        writer.write(string: Timestamp.now().iso8601)
        writer.appendRaw(",\"desiredRevision\":")
        writer.write(string: revision)
        writer.appendRaw(",\"worldSeq\":\(world.seq),\"drift\":[")
        for (index, key) in reportEntries.keys.sorted().enumerated() {
            if index > 0 { writer.appendRaw(",") }
            writer.appendRaw(reportEntries[key]!)
        }
        writer.appendRaw("],\"problems\":")
        writer.write(.array(inventory.problems.map { problem -> JSONValue in
            .object(["file": .string(problem.file), "reason": .string(problem.reason)])
        }))
        writer.appendRaw("}\n")
        do {
            try AtomicFile.rewrite(writer.bytes, to: root.driftReport)
        } catch {
            logger.warning("could not write \(root.driftReport): \(error)")
        }
    }

    /// A resource's entries in `drift.json`, encoded once when it is evaluated.
    private func reportEntry(_ subject: Subject) -> [UInt8]? {
        guard let found = drifts[subject] else { return nil }
        var writer = JSONWriter()
        for (index, drift) in found.enumerated() {
            if index > 0 { writer.appendRaw(",") }
            var entry = drift.json
            if let id = answers[subject]?[drift.kind] { entry["action"] = .string(id) }
            writer.write(.object(entry))
        }
        return writer.bytes
    }

    private func writeStatus() {
        var byKind = JSONObject()
        for kind in Drift.Kind.allCases { byKind[kind.rawValue] = .int(drifts.values.reduce(0) { $0 + $1.filter { $0.kind == kind }.count }) }
        let status: JSONValue = .object([
            "service": .string(Self.service), "pid": .int(Int(ProcessID.current)), "startedAt": .string(startedAt.iso8601),
            "heartbeatAt": .string(Timestamp.now().iso8601Milliseconds), "desiredRevision": .string(revision),
            "desiredResources": .int(inventory.resources.count), "inventoryProblems": .int(inventory.problems.count),
            "drift": .object(byKind),
            "counters": .object([
                "fullEvaluations": .int(fullEvaluations), "resourceEvaluations": .int(resourceEvaluations),
                "proposed": .int(proposed), "superseded": .int(superseded),
            ]),
        ])
        try? AtomicFile.rewrite(JSONWriter.encode(status) + [0x0A], to: root.serviceState(Self.service))
    }
}
