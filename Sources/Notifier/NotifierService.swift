#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// The notifier (SPEC §12): follows the event log and the services' heartbeats, decides what
/// deserves a message, and delivers it through the outbox to the targets of
/// `inventory/notify/`.
///
/// One loop: an inotify watch on `events/` (the log grows: read on from the cursor), one on
/// `state/` (a heartbeat), one on `inventory/notify/` (targets changed), a timer for the
/// grouping window and one for the next liveness deadline, and each target's connection.
///
/// Crash ordering: a message is written to `notify/outbox/KEY.json` and posted at once, and
/// synced (file and folder) before `notify/state.json` says its events were read, so a restart neither skips one (the cursor
/// is behind it) nor sends one it already delivered under another key (the key is derived from
/// the occurrence: the same events make the same keys). A message delivered but not yet
/// crossed off is sent again after a crash — at least once — under the same key.
public final class NotifierService: Service {
    public static let service = "notifier"

    let root: RuntimeRoot
    let logger: Logger
    let settings: NotifierSettings
    private let inventoryFolder: String
    private let heartbeatSeconds: Int
    private let rules: EventRules

    private var targets: [String: NotifyTarget] = [:]
    private var couriers: [String: Courier] = [:]
    private var desiredNodeStale: [String: Int] = [:]
    /// The outbox, in memory: every message not yet taken by all its targets.
    private(set) var messages: [String: NotifyMessage] = [:]
    private var cursor: EventLogCursor
    private var saved = NotifierState()
    private var gaps: [String: Int] = [:]
    private var liveness = Liveness(down: [])
    private var grouping: Grouping
    /// Messages written since the last cursor write, to be made durable before it.
    private var unsynced: [String] = []

    private weak var reactor: Reactor?
    private var watches: [DirectoryWatch] = []
    private var groupTimer: LoopTimer?
    private var livenessTimer: LoopTimer?

    public private(set) var made = 0
    public private(set) var delivered = 0

    public init(configuration: Configuration, settings: NotifierSettings, logger: Logger) {
        root = configuration.root
        inventoryFolder = configuration.inventory
        heartbeatSeconds = configuration.heartbeatSeconds
        self.settings = settings
        self.logger = logger
        rules = EventRules(root: configuration.root, publicURL: settings.publicURL)
        cursor = EventLogCursor(folder: configuration.root.events, after: 0)
        grouping = Grouping(window: settings.groupWindow)
    }

    /// One reader of the log per root: two would send everything twice under the same keys.
    public var runsAlone: Bool { true }

    public func start(on reactor: Reactor) throws {
        self.reactor = reactor
        try loadTargets()
        if let state = NotifierState.read(root: root) {
            saved = state
        } else {
            // The first start: from the end of the log, not its whole history — written at
            // once, so a notifier killed before its first message does not skip what came since.
            saved = NotifierState(seq: EventLogCursor(atEndOf: root.events).seq)
            try saved.write(root: root)
        }
        cursor = EventLogCursor(folder: root.events, after: saved.seq)
        gaps = saved.gaps
        liveness = Liveness(down: saved.down)
        loadOutbox()
        groupTimer = reactor.timer { [unowned self] in flushGroups() }
        livenessTimer = reactor.timer { [unowned self] in checkLiveness() }
        watches = [
            try DirectoryWatch(reactor: reactor, root: root.events, options: [.recursive, .appends]) { [unowned self] _ in readLog() },
            try DirectoryWatch(reactor: reactor, root: root.state) { [unowned self] events in heartbeats(events.map(\.path)) },
            try DirectoryWatch(reactor: reactor, root: inventoryFolder, options: .recursive) { [unowned self] events in
                if events.contains(where: { $0.path.hasPrefix(inventoryFolder + "/notify") || $0.path.hasPrefix(inventoryFolder + "/resources") }) { reload() }
            },
        ]
        seedNodes()
        reactor.runSoon { [unowned self] in
            readLog()
            checkLiveness()
            logger.info("notifying \(targets.count) targets (\(targets.keys.sorted().joined(separator: ", "))); log read from seq \(saved.seq); \(messages.count) messages in the outbox")
        }
    }

    public func reload() {
        do {
            try loadTargets()
        } catch {
            logger.error("\(error); keeping the targets loaded before")
            return
        }
        for message in messages.values { route(message) }
    }

    public func shutdown() {
        for courier in couriers.values { courier.close() }
        logger.info("stopped: \(made) messages made, \(delivered) deliveries, \(messages.count) left in the outbox")
    }

    // MARK: Targets and the outbox

    private func loadTargets() throws {
        let inventory = try Inventory.load(inventoryFolder)
        for problem in inventory.problems where problem.file.hasPrefix("notify/") { logger.warning("inventory: \(problem)") }
        desiredNodeStale = [:]
        for (subject, resource) in inventory.resources where subject.kind == "node" {
            if let seconds = resource.staleAfterSeconds { desiredNodeStale[subject.name] = seconds }
        }
        guard inventory.notify != targets || couriers.isEmpty else { return }
        for courier in couriers.values { courier.close() }
        couriers = [:]
        targets = inventory.notify
        guard let reactor else { return }
        for target in targets.values {
            if target.secretFile != nil && target.secret(root: root) == nil {
                logger.warning("\(target.name): its secret \(root.secrets)/\(target.secretFile!) is missing or empty")
            }
            couriers[target.name] = Courier(target: target, root: root, reactor: reactor, logger: logger, longestBackoff: settings.longestBackoff,
                                            message: { [unowned self] key in messages[key] },
                                            finished: { [unowned self] key, courier, ok in finished(key, courier.target.name, ok) })
        }
    }

    private func loadOutbox() {
        for key in NotifyMessage.keys(root: root) {
            guard let message = NotifyMessage.read(root.notifyMessage(key)) else {
                logger.warning("ignored \(root.notifyMessage(key)): not a message")
                continue
            }
            messages[key] = message
            route(message)
        }
    }

    /// Hands a message to its targets' couriers; pending targets that no longer exist are
    /// crossed off.
    private func route(_ message: NotifyMessage) {
        let gone = message.pending.filter { couriers[$0] == nil }
        for name in gone { finished(message.key, name, false) }
        for name in message.pending where couriers[name] != nil { couriers[name]!.enqueue(message.key) }
    }

    private func finished(_ key: String, _ target: String, _ ok: Bool) {
        guard var message = messages[key] else { return }
        if ok { delivered += 1 }
        message.pending.removeAll { $0 == target }
        if message.pending.isEmpty {
            messages[key] = nil
            unlink(root.notifyMessage(key))
        } else {
            messages[key] = message
            // Not synced: lost, it only means one more delivery under the same key.
            try? AtomicFile.write(JSONWriter.encode(.object(message.json)), to: root.notifyMessage(key), durability: .none)
        }
    }

    /// A message for `occurrences` (one, or a storm's), into the outbox and on its way.
    func send(_ occurrences: [Occurrence]) {
        var message = Grouping.message(occurrences, publicURL: settings.publicURL)
        message.pending = targets.values.filter { $0.minSeverity <= message.severity }.map(\.name).sorted()
        guard !message.pending.isEmpty else {
            logger.debug("no target takes \(message.severity.rawValue) messages: \(message.title)")
            return
        }
        if let existing = messages[message.key] {
            message.pending = existing.pending  // read again after a restart: already on its way
        }
        do {
            try message.write(root: root)
        } catch {
            logger.error("could not write \(root.notifyMessage(message.key)): \(error); \(message.title) is not sent")
            return
        }
        made += 1
        unsynced.append(message.key)
        messages[message.key] = message
        logger.info("message \(message.key): \(message.title)\(message.count > 1 ? " (\(message.count) grouped)" : "")")
        route(message)
    }

    // MARK: The log

    private func readLog() {
        while true {
            let events = cursor.next(maxBytes: 1 << 20, maxEvents: 4096)
            if events.isEmpty { break }
            let now = Timestamp.now()
            for event in events { handle(event, now: now) }
        }
        flushGroups()
    }

    private func handle(_ event: LoggedEvent, now: Timestamp) {
        if let subject = event.subject, subject.hasPrefix("node/"), event.type == "node.heartbeat" || event.type == "resource.observed" {
            let node = String(subject.dropFirst("node/".count))
            let time = Timestamp(rfc3339: event.time) ?? Timestamp(rfc3339: event.receivedAt) ?? now
            if liveness.seen(subject, at: time, limit: nodeLimit(node), now: now) {
                send([Occurrence(rule: .nodeBack, subject: subject, trigger: "seq:\(event.seq)", seq: event.seq,
                                 title: "Node back: \(node)", body: "\(node) reports again", click: settings.publicURL)])
            }
            if event.type == "resource.observed", let count = event.data?["agent"]?["gaps"]?.int {
                if let known = gaps[node], count > known {
                    send([Occurrence(rule: .spoolGap, subject: subject, trigger: "seq:\(event.seq)", seq: event.seq,
                                     title: "Reports lost on \(node)",
                                     body: "\(node)'s agent could not spool \(count - known) reports (its spool was full); it took a fresh snapshot",
                                     click: settings.publicURL)])
                }
                gaps[node] = count
            }
            scheduleLiveness()
        }
        guard let occurrence = rules.occurrence(for: event) else { return }
        if occurrence.rule.isGrouped {
            grouping.add(occurrence, now: .now())
        } else {
            send([occurrence])
        }
    }

    private func flushGroups() {
        for group in grouping.takeDue(now: .now()) { send(group) }
        if let due = grouping.nextDue { groupTimer?.schedule(at: due) } else { groupTimer?.cancel() }
        saveState()
    }

    /// The cursor stays below what the grouping window still holds.
    private func saveState() {
        var state = NotifierState(seq: min(cursor.seq, (grouping.lowestSeq ?? Int.max) - 1), down: liveness.down, gaps: gaps)
        state.seq = max(state.seq, saved.seq)
        guard state != saved else { return }
        do {
            // The outbox first, durably: only then may the cursor say its events were read.
            if !unsynced.isEmpty {
                try NotifyMessage.syncWritten(unsynced, root: root)
                unsynced.removeAll()
            }
            try state.write(root: root)
            saved = state
        } catch {
            logger.error("could not write \(root.notifyState): \(error)")
        }
    }

    // MARK: Liveness

    private func nodeLimit(_ node: String) -> Double {
        Double(desiredNodeStale[node] ?? settings.nodeStaleSeconds ?? 4 * heartbeatSeconds)
    }

    /// Nodes as the world knows them: their last sign of life and gap count.
    private func seedNodes() {
        let now = Timestamp.now()
        for entry in listDirectory(root.worldFolder(kind: "node")) where entry.name.hasSuffix(".json") && !entry.name.hasPrefix(".") {
            let node = String(entry.name.dropLast(5))
            guard let (_, resource) = WorldResource.read(root.worldFile(Subject(kind: "node", name: node))),
                  let lastSeen = Timestamp(rfc3339: resource.lastSeen) else { continue }
            _ = liveness.seen("node/" + node, at: lastSeen, limit: nodeLimit(node), now: now)
            if gaps[node] == nil, let count = resource.observedObject["agent"]?["gaps"]?.int { gaps[node] = count }
        }
        heartbeats(ServiceHeartbeat.checkable.map { root.serviceState($0) })
    }

    /// `state/SERVICE.json` changed: a heartbeat, a start or a stop.
    private func heartbeats(_ paths: [String]) {
        let now = Timestamp.now()
        for path in paths {
            guard path.hasPrefix(root.state + "/"), path.hasSuffix(".json") else { continue }
            let service = String(path.dropFirst(root.state.count + 1).dropLast(5))
            guard service != Self.service, ServiceHeartbeat.checkable.contains(service),
                  let status = ServiceStatus.read(service, root: root),
                  let last = Timestamp(rfc3339: status.stoppedAt ?? status.heartbeatAt) else { continue }
            if liveness.seen("service/" + service, at: last, limit: ServiceHeartbeat.freshFor(heartbeatSeconds: heartbeatSeconds), now: now) {
                send([Occurrence(rule: .serviceBack, subject: "service/" + service, trigger: "at:" + status.heartbeatAt, seq: 0,
                                 title: "Service back: \(service)", body: "\(service) is running again (since \(status.startedAt))", click: settings.publicURL)])
            }
        }
        scheduleLiveness()
        saveState()
    }

    private func checkLiveness() {
        let now = Timestamp.now()
        for (name, lastSeen) in liveness.takeOverdue(now: now) {
            let isNode = name.hasPrefix("node/")
            let short = String(name.split(separator: "/", maxSplits: 1).last ?? "")
            let ago = Int(lastSeen.seconds(until: now).rounded())
            send([Occurrence(rule: isNode ? .nodeStale : .serviceDown, subject: name, trigger: "at:" + lastSeen.iso8601Milliseconds, seq: 0,
                             title: isNode ? "Node stale: \(short)" : "Service down: \(short)",
                             body: isNode ? "nothing heard from \(short) for \(ago) s (last at \(lastSeen.iso8601))"
                                          : "no heartbeat from \(short) for \(ago) s (last at \(lastSeen.iso8601))",
                             click: settings.publicURL)])
        }
        scheduleLiveness()
        saveState()
    }

    private func scheduleLiveness() {
        guard let next = liveness.nextDeadline else {
            livenessTimer?.cancel()
            return
        }
        let delay = min(max(Timestamp.now().seconds(until: next), 0), 86_400)
        livenessTimer?.schedule(after: .nanoseconds(Int64(delay * 1e9) + 1_000_000))
    }

    // MARK: Status

    public var statusDetails: JSONObject {
        var perTarget = JSONObject()
        for name in couriers.keys.sorted() {
            let courier = couriers[name]!
            perTarget[name] = .object(["kind": .string(courier.target.kind.rawValue), "delivered": .int(courier.delivered),
                                       "failures": .int(courier.failures), "waiting": .int(courier.depth)])
        }
        return [
            "seq": .int(saved.seq), "outbox": .int(messages.count), "targets": .object(perTarget),
            "down": .array(liveness.down.sorted().map { .string($0) }),
            "counters": .object(["made": .int(made), "delivered": .int(delivered)]),
        ]
    }
}
