#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// An action whose catalog entry has `runsOn` (docs/remote-actions.md): the executor keeps
/// its claim, its final state and its events, and hands only the running to the node's agent
/// through `handoff/NODE/` (the UI relays it). It holds its resource, not a concurrency slot.
final class Handoff {
    let file: ActionFile
    let claim: ActionClaim
    let node: String
    var startedEmitted = false
    /// Fails it unless an agent has claimed it by then.
    var claimTimer: LoopTimer?

    var id: String { claim.id }
    var resource: String { file.resource ?? "" }
    var actor: String { "agent:" + node }

    init(file: ActionFile, claim: ActionClaim, node: String) {
        self.file = file
        self.claim = claim
        self.node = node
    }
}

extension ExecutorService {
    /// Writes `handoff/NODE/ID.json` for an action claimed and resolved like a local one, and
    /// waits for the files the UI writes beside it.
    func handOff(_ file: ActionFile, claim: ActionClaim, entry: CatalogEntry, argv: [String], node: String) {
        let id = claim.id
        let offer: JSONObject = [
            "id": .string(id), "node": .string(node), "action": .string(entry.name), "resource": .string(file.resource ?? ""),
            "argv": .array(argv.map(JSONValue.string)), "timeoutSeconds": .int(entry.timeoutSeconds),
            "handedOffAt": .string(Timestamp.now().iso8601Milliseconds),
        ]
        do {
            let folder = root.handoffFolder(node)
            if mkdir(folder, 0o755) != 0 && Errno.current != .fileExists { throw SystemError("mkdir", Errno.current, subject: folder) }
            // The log exists from the hand-off on, as for a local run: the UI only appends to it.
            try FileDescriptor.open(root.actionLog(id), O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644).close()
            // Not fsynced: it is on the path to the child's start, and after a power cut the
            // action is in running/ without it, which recovery fails as interrupted.
            try AtomicFile.write(JSONWriter.encode(.object(offer)) + [0x0A], to: root.handoff(id, node: node), durability: .none)
        } catch {
            record(file, claim: claim, result: .init(startedAt: Timestamp.now().iso8601Milliseconds, error: "could not hand it to node \(node): \(error)"), ok: false)
            logger.warning("could not hand \(id) to node \(node): \(error)")
            return
        }
        track(Handoff(file: file, claim: claim, node: node))
        logger.info("handed \(id) (\(entry.name) for \(file.resource ?? "-")) to the agent of node \(node)")
    }

    /// Follows a hand-off, new or found in `running/` at start-up, from whatever files it has.
    func track(_ handoff: Handoff) {
        handoffs[handoff.id] = handoff
        if !handoff.resource.isEmpty { busyResources.insert(handoff.resource) }
        let offered = root.handoff(handoff.id, node: handoff.node)
        if fileKind(offered) == .regular {
            // From when it was offered: a restarted executor does not give it a fresh 10 minutes.
            let age = Duration.seconds(max(0, Timestamp.now().secondsSinceEpoch - (Timestamp.modified(offered)?.secondsSinceEpoch ?? 0)))
            handoff.claimTimer = reactor?.timer(after: max(.zero, settings.handoffClaimTimeout - age)) { [unowned self] in
                unclaimed(handoff)
            }
        }
        handoffChanged(handoff.id)
    }

    /// A file of the hand-off appeared: the start, the result (idempotent, as watches are).
    func handoffChanged(_ id: String) {
        guard let handoff = handoffs[id] else { return }
        if fileKind(root.handoff(id, node: handoff.node)) != .regular { handoff.claimTimer?.cancel() }
        if !handoff.startedEmitted, let started = FileContents.object(root.handoff(id, node: handoff.node, .started)) {
            handoff.startedEmitted = true
            // A restarted executor finds the start it already announced.
            if records?.history(id)?.has(.started) != true {
                var data: JSONObject = ["node": .string(handoff.node)]
                if let pid = started["pid"]?.int { data["pid"] = .int(pid) }
                events.emit(.started, id: id, actor: handoff.actor, data, logger: logger)
            }
            logger.info("\(id) started on node \(handoff.node), pid \(started["pid"]?.int.map(String.init) ?? "?")")
        }
        guard let object = FileContents.object(root.handoff(id, node: handoff.node, .result)) else { return }
        let result = ActionFile.Result(json: object)
        let ok = result.exitCode == 0 && result.error == nil
        finish(handoff, result: result, ok: ok)
        logger.info("\(ok ? "succeeded" : "failed") \(id) on node \(handoff.node): \(result.error ?? "exit \(result.exitCode.map(String.init) ?? "?")")")
    }

    /// Nobody took it: the offer is withdrawn (an unlink the UI's claim, a rename, cannot
    /// race past) and the action failed.
    private func unclaimed(_ handoff: Handoff) {
        guard handoffs[handoff.id] === handoff, unlink(root.handoff(handoff.id, node: handoff.node)) == 0 else { return }
        let waited = settings.handoffClaimTimeout
        let said = waited.seconds > 0 && waited.seconds.isMultiple(of: 60) ? "\(waited.seconds / 60) min" : "\(String(format2: waited.milliseconds / 1000)) s"
        finish(handoff, result: .init(error: "no agent of node \(handoff.node) claimed it within \(said)"), ok: false)
        logger.warning("failed \(handoff.id): no agent of node \(handoff.node) claimed it within \(said)")
    }

    private func finish(_ handoff: Handoff, result: ActionFile.Result, ok: Bool) {
        handoffs[handoff.id] = nil
        handoff.claimTimer?.cancel()
        busyResources.remove(handoff.resource)
        record(handoff.file, claim: handoff.claim, result: result, ok: ok, actor: handoff.actor)
        removeHandoff(handoff.id, node: handoff.node)
        dispatch()
    }

    /// The hand-off's files, once its action is in its final state.
    func removeHandoff(_ id: String, node: String) {
        for step in RuntimeRoot.HandoffStep.allCases { unlink(root.handoff(id, node: node, step)) }
    }

    /// `handoff/` as the UI writes it: starts and results of the actions handed off.
    func watchHandoffs(on reactor: Reactor) throws(SystemError) -> DirectoryWatch {
        try DirectoryWatch(reactor: reactor, root: root.handoff, options: .recursive) { [unowned self] events in
            for event in events where event.kind == .ready {
                if let (_, id, step) = root.handoffLocation(event.path), step == .started || step == .result || step == .claimed {
                    handoffChanged(id)
                }
            }
        }
    }
}

extension Duration {
    /// Whole seconds, for messages.
    var seconds: Int64 { components.seconds }
}
