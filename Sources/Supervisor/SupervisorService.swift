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
public final class SupervisorService: Service {
    public static let service = "supervisor"

    public struct Settings: Sendable {
        /// Quiet time after the last inventory or queue change before re-evaluating.
        public var debounce: Duration = .milliseconds(200)
        /// Before attempt N+1 of a drift whose action finished: this × 2^(N-1), at most an hour.
        public var retryBackoffSeconds: Double = 60
        /// How long a drift must stay gone after its action succeeded to verify it before the
        /// deadline (`Verification`).
        public var verifySettleSeconds: Double = 5
        /// Finished actions older than their deadline by more than this are not verified after
        /// a restart: too late to say anything useful.
        public var verifyGraceSeconds: Double = 3600
        public init() {}
    }

    let root: RuntimeRoot
    private let inventoryFolder: String
    private let repo: String
    let logger: Logger
    let settings: Settings
    let events: ActionEvents

    private(set) var inventory = Inventory()
    private(set) var revision = ""
    var world: WorldView
    var actions: ActionQueue
    var drifts: [Subject: [Drift]] = [:]
    /// Each drifting resource's encoded entries for `drift.json`, by resource.
    var reportEntries: [String: [UInt8]] = [:]
    /// Per resource: drift kind → the action that answers it.
    var answers: [Subject: [Drift.Kind: String]] = [:]
    /// Per resource: drift kind → why no (new) proposal answers it now (`drift.json`'s `wait`).
    var waits: [Subject: [Drift.Kind: DriftReport.Wait]] = [:]
    var retryDeadlines: [Timestamp] = []
    /// Succeeded actions whose drift is being watched, by ID.
    var verifications: [String: Verification] = [:]
    var flaps = FlapDetector()
    /// Resources flapping now, and until when.
    var flapping: [Subject: Timestamp] = [:]
    /// Operators' requests for a proposal now, taken by the resource's next evaluation.
    var requests: [Subject: ProposalRequest] = [:]
    /// Request files seen before the first evaluation.
    var waitingRequestFiles: [String] = []
    /// When the wake timer is set to fire, on the wall clock.
    var wakeAt: Timestamp?

    weak var reactor: Reactor?
    private var watches: [DirectoryWatch] = []
    private var debounceTimer: LoopTimer?
    var wakeTimer: LoopTimer?
    var reportPending = false
    private var reloadPending = false
    /// Set once the watches' first scans are in and the first evaluation ran.
    var started = false

    /// Full evaluations (start-up, inventory, queue, deadlines), and per-resource ones.
    public internal(set) var fullEvaluations = 0
    public internal(set) var resourceEvaluations = 0
    public internal(set) var proposed = 0
    public internal(set) var superseded = 0
    public internal(set) var verified = 0
    public internal(set) var unverified = 0

    public init(configuration: Configuration, logger: Logger, settings: Settings = Settings()) {
        root = configuration.root
        inventoryFolder = configuration.inventory
        repo = configuration.repo
        self.logger = logger
        self.settings = settings
        // Proposals and their events are derived state: after a crash the same drift is
        // proposed again under the same ID, so neither is fsynced.
        events = ActionEvents(root: configuration.root, source: Self.service, durability: .none)
        world = WorldView(root: configuration.root)
        actions = ActionQueue(root: configuration.root)
    }

    /// One proposer per root: two would supersede each other's proposals.
    public var runsAlone: Bool { true }

    /// SIGHUP: the inventory, read again.
    public func reload() { reloadInventory() }

    public func shutdown() {
        logger.info("stopped: \(proposed) proposed, \(superseded) superseded, \(verified) verified, \(unverified) unverified, \(fullEvaluations) full evaluations")
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
            try DirectoryWatch(reactor: reactor, root: root.proposeRequests) { [unowned self] events in
                for event in events where event.kind == .ready { waitingRequestFiles.append(event.path) }
                if started { takeRequests() }
            },
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
        reactor.runSoon { [unowned self] in
            started = true
            let began = MonotonicTime.now()
            evaluate(nil)
            takeRequests()
            writeReport()
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
            case .ready:
                actions.note(event.path, present: true)
                if let (id, state) = root.actionLocation(event.path), state == .done { startVerifying(id) }
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

    // MARK: Status

    public var statusDetails: JSONObject {
        var byKind = JSONObject()
        for kind in Drift.Kind.allCases { byKind[kind.rawValue] = .int(drifts.values.reduce(0) { $0 + $1.filter { $0.kind == kind }.count }) }
        return [
            "desiredRevision": .string(revision), "desiredResources": .int(inventory.resources.count),
            "inventoryProblems": .int(inventory.problems.count), "drift": .object(byKind),
            "counters": .object([
                "fullEvaluations": .int(fullEvaluations), "resourceEvaluations": .int(resourceEvaluations),
                "proposed": .int(proposed), "superseded": .int(superseded), "verified": .int(verified), "unverified": .int(unverified),
            ]),
            "verifying": .int(verifications.count), "flapping": .int(flapping.count),
        ]
    }
}
