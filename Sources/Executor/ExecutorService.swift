#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// The executor (SPEC §6): runs approved actions, safely and exactly once.
///
/// Claiming is an exclusive `flock` on `approved/ID.json` followed by its rename into
/// `running/` (`ActionClaim`). The command comes only from the catalog as it is in the
/// repository at that moment; an action file's own fields never supply one.
public final class ExecutorService: Service {
    public static let service = "executor"
    static let minimalPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    public struct Settings: Sendable {
        public var concurrency = 2
        /// After SIGTERM on timeout, how long before SIGKILL.
        public var killGrace: Duration = .seconds(5)
        /// Variables handed on to every action besides the minimal ones — DOCKER_CONFIG, so
        /// `docker --context NODE` finds the contexts of the homelab's nodes.
        public var passedEnvironment: [String: String] = [:]
        /// How long an approved action waits for its proposal to show in the log before it is
        /// refused as never proposed.
        public var proposalWait: Duration = .seconds(10)
        /// The node this executor runs on (HOMELAB_NODE): an action whose `runsOn` names it runs
        /// here instead of being handed to an agent.
        public var localNode: String?
        /// How long a hand-off to a node's agent waits to be claimed before it is failed.
        public var handoffClaimTimeout: Duration = .seconds(600)
        public init() {}
    }

    let root: RuntimeRoot
    let inventoryFolder: String
    let logger: Logger
    let settings: Settings
    let events: ActionEvents
    weak var reactor: Reactor?
    private var watch: DirectoryWatch?
    private(set) var records: ActionRecords?
    private var handoffWatch: DirectoryWatch?
    /// Approved actions seen, in arrival order, not yet claimed or given up.
    private var candidates: [String] = []
    private var candidateSet: Set<String> = []
    /// Candidates whose proposal is not in the log yet, and when they are given up.
    private var awaitingProposal: [String: MonotonicTime] = [:]
    private var proposalTimer: LoopTimer?
    var runs: [String: (run: ActionRun, claim: ActionClaim)] = [:]
    /// Actions with a node's agent, by ID: they hold their resource, not a slot.
    var handoffs: [String: Handoff] = [:]
    var busyResources: Set<String> = []
    var stopping = false
    private var whenIdle: (() -> Void)?
    var counters = ExecutorCounters()

    public init(configuration: Configuration, logger: Logger, settings: Settings = Settings()) {
        root = configuration.root
        inventoryFolder = configuration.inventory
        self.logger = logger
        self.settings = settings
        events = ActionEvents(root: configuration.root, source: Self.service)
    }

    public func start(on reactor: Reactor) throws {
        self.reactor = reactor
        if mkdir(root.executorWork, 0o755) != 0 && Errno.current != .fileExists {
            throw SystemError("mkdir", Errno.current, subject: root.executorWork)
        }
        records = try ActionRecords(root: root, reactor: reactor) { [unowned self] id in
            if awaitingProposal[id] != nil { dispatch() }
        }
        recoverInterrupted()
        handoffWatch = try watchHandoffs(on: reactor)
        proposalTimer = reactor.timer { [unowned self] in dispatch() }
        watch = try DirectoryWatch(reactor: reactor, root: root.actions(.approved)) { [unowned self] events in
            var arrived: [String] = []
            for event in events where event.kind == .ready {
                guard let (id, _) = root.actionLocation(event.path) else { continue }
                if candidateSet.insert(id).inserted { arrived.append(id) }
            }
            // A scan lists in no particular order: oldest approval first (a rename sets ctime,
            // to the kernel's coarse clock; ties by name).
            candidates += arrived.count > 1 ? arrived.map { (approvedAt($0), $0) }.sorted { $0 < $1 }.map(\.1) : arrived
            dispatch()
        }
        logger.info("watching \(root.actions(.approved)): up to \(settings.concurrency) actions at once, one per resource")
    }

    /// Claims nothing more and asks every running action to end (SIGTERM, SIGKILL after the
    /// grace); each is recorded as failed, interrupted, and `done` follows the last. Hand-offs
    /// are not waited for: they go on on their nodes, and the next executor takes them over.
    public func stop(_ done: @escaping () -> Void) {
        stopping = true
        whenIdle = done
        for (_, entry) in runs { entry.run.interrupt() }
        stoppedIfIdle()
    }

    /// Whatever still runs once the loop has ended is killed now, and recorded.
    public func shutdown() {
        stopping = true
        whenIdle = nil
        for (_, entry) in runs { entry.run.abort() }
        for (_, handoff) in handoffs { handoff.claimTimer?.cancel() }
        logger.info("stopped: \(counters.succeeded) succeeded, \(counters.failed) failed")
    }

    func stoppedIfIdle() {
        guard stopping, runs.isEmpty, let done = whenIdle else { return }
        whenIdle = nil
        done()
    }

    public var running: Int { runs.count }
    public var succeeded: Int { counters.succeeded }
    public var failed: Int { counters.failed }

    public var statusDetails: JSONObject {
        ["running": .int(runs.count), "handedOff": .int(handoffs.count), "queued": .int(candidates.count), "concurrency": .int(settings.concurrency),
         "counters": .object(counters.json)]
    }

    // MARK: Claiming

    /// Starts what the free slots allow, oldest first, one action per resource at a time;
    /// an action for a node's agent needs no slot.
    func dispatch() {
        guard !stopping else { return }
        var index = 0
        let now = MonotonicTime.now()
        // Past full slots the queue is scanned for hand-offs only if the catalog has any: with
        // none, a full executor reads nothing more (hundreds may be queued).
        lazy var anyRunsOn = Inventory.catalogHasRunsOn(inventoryFolder)
        while index < candidates.count && (runs.count < settings.concurrency || anyRunsOn) {
            let id = candidates[index]
            let path = root.action(id, in: .approved)
            guard let file = ActionFile.read(path) else {
                if let kind = fileKind(path), kind != .regular {
                    // A symlink (to a file outside the root, say) or a FIFO: never an action.
                    unlink(path)
                    logger.warning("removed \(path): not a regular file, so not an action; nothing ran")
                }
                forget(at: index)  // gone: claimed elsewhere, or not ours to read
                continue
            }
            let history = records?.history(id)
            if history?.has(.proposed) != true || (history?.has(.approved) != true && approvalMayBeFolding(id)) {
                let deadline = awaitingProposal[id] ?? now + settings.proposalWait
                if now < deadline {
                    awaitingProposal[id] = deadline
                    index += 1  // its proposal or approval is not folded yet: the records' watch wakes us
                    continue
                }
            }
            let resource = file.resource ?? ""
            if !resource.isEmpty && busyResources.contains(resource) {
                index += 1  // waits for that resource's action to end
                continue
            }
            if runs.count >= settings.concurrency && !runsElsewhere(file) {
                index += 1  // waits for a slot
                continue
            }
            forget(at: index)
            if let claim = ActionClaim.claim(id, root: root) { begin(file, history: history, claim: claim) }
        }
        if let next = awaitingProposal.values.min() { proposalTimer?.schedule(after: max(next - now, .zero)) }
    }

    /// Its catalog entry has `runsOn`: a node's agent runs it. (Only for the slot count: the
    /// gate reads the entry again when the action is claimed.)
    private func runsElsewhere(_ file: ActionFile) -> Bool {
        guard let name = file.action, case .success(let entry) = CatalogEntry.load(name: name, inventory: inventoryFolder),
              entry.runsOn != nil, case .success(let node) = ActionResolver.node(entry, args: file.args)
        else { return false }
        return node != nil && node != settings.localNode
    }

    /// An operator's approval the observer has logged but not yet folded into world/ leaves no
    /// trace but the log for a moment (its audit file is taken), and would be mistaken for a
    /// rename by hand. While the world lags the log, such an approval may be on its way.
    private func approvalMayBeFolding(_ id: String) -> Bool {
        if OperatorDecision.isRecorded(.approve, id: id, root: root) { return false }
        guard let logged = EventLogCursor.lastEvent(in: root.events)?.seq else { return false }
        return (Checkpoint.read(root.observerCheckpoint)?.seq ?? 0) < logged
    }

    private func forget(at index: Int) {
        candidateSet.remove(candidates[index])
        awaitingProposal[candidates[index]] = nil
        candidates.remove(at: index)
    }

    private func approvedAt(_ id: String) -> Int64 {
        var info = stat()
        guard stat(root.action(id, in: .approved), &info) == 0 else { return .max }
        return Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec)
    }
}
