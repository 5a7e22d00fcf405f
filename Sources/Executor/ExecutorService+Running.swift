#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// Running a claimed action: its command from the catalog, its child through the loop
/// (`ActionRun`), and its one final state.
extension ExecutorService {
    func begin(_ file: ActionFile, history: ActionHistory?, claim: ActionClaim) {
        let id = claim.id
        let resource = file.resource ?? ""
        let argv: [String]
        let entry: CatalogEntry
        switch admit(id, history: history).flatMap({ resolve(file) }) {
        case .failure(let refusal) where refusal.alreadyRan:
            // Its one final state exists: this copy is dropped rather than put over it.
            unlink(root.action(id, in: .running))
            claim.release()
            logger.warning("refused a second copy of \(id) that appeared in approved/: \(refusal); removed, nothing ran")
            return
        case .failure(let refusal):
            record(file, claim: claim, result: .init(startedAt: Timestamp.now().iso8601Milliseconds, error: refusal.description), ok: false)
            logger.warning("refused \(id): \(refusal)")
            return
        case .success(let resolved):
            if let node = resolved.node {
                handOff(file, claim: claim, entry: resolved.entry, argv: resolved.argv, node: node)
                return
            }
            (entry, argv) = (resolved.entry, resolved.argv)
        }
        let folder = root.executorWork(id)
        do {
            if mkdir(folder, 0o755) != 0 && Errno.current != .fileExists { throw SystemError("mkdir", Errno.current, subject: folder) }
            guard let program = ChildProcess.locate(argv[0], path: Self.minimalPath) else {
                throw Refusal("command not found: \(argv[0]) (PATH=\(Self.minimalPath))")
            }
            let log = try FileDescriptor.open(root.actionLog(id), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND)
            let run = try ActionRun(id: id, resource: resource, argv: [program] + argv.dropFirst(),
                                    environment: settings.passedEnvironment.merging([
                                        "PATH": Self.minimalPath, "HOME": folder, "LANG": "C.UTF-8", "HOMELAB_ACTION_ID": id,
                                    ]) { $1 }, folder: folder, log: log, timeout: entry.timeoutSeconds, grace: settings.killGrace,
                                    reactor: reactor!) { [unowned self] run, outcome in finished(run, outcome, file: file) }
            do {
                try AtomicFile.write("{\"pgid\":\(run.pid),\"bootId\":\"\(BootID.current)\"}\n", to: root.executorRunMarker(id), durability: .none)
            } catch {
                // Without its marker an executor restarted later could not find the group to
                // kill: better not to run it at all. (Not yet in `runs`, so the abort records
                // nothing; the error below does.)
                run.abort()
                throw error
            }
            runs[id] = (run, claim)
            if !resource.isEmpty { busyResources.insert(resource) }
            events.emit(.started, id: id, actor: Self.service, ["pid": .int(Int(run.pid)), "argv": .array(argv.map(JSONValue.string))], logger: logger)
            logger.info("started \(id): \(entry.name) for \(resource.isEmpty ? "-" : resource), pid \(run.pid)")
        } catch {
            record(file, claim: claim, result: .init(startedAt: Timestamp.now().iso8601Milliseconds, error: "could not start: \(error)"), ok: false)
            logger.warning("could not start \(id): \(error)")
        }
    }

    struct Refusal: Error, CustomStringConvertible {
        let description: String
        var alreadyRan = false
        init(_ description: String, alreadyRan: Bool = false) {
            self.description = description
            self.alreadyRan = alreadyRan
        }
    }

    /// The gate (SPEC §6): only an action the log shows proposed, and never one that already
    /// ran. An approval that left no record of its own — a rename by hand on the runtime root —
    /// is recorded now, as by `filesystem`.
    func admit(_ id: String, history: ActionHistory?) -> Result<Void, Refusal> {
        if history?.has(.started) == true || [.done, .failed].contains(where: { fileKind(root.action(id, in: $0)) != nil }) {
            return .failure(Refusal("\(id) already ran: an action runs at most once", alreadyRan: true))
        }
        guard history?.has(.proposed) == true else {
            return .failure(Refusal("\(id) was never proposed: the log has no proposal for it (waited \(settings.proposalWait))"))
        }
        let recorded = history?.has(.approved) == true || OperatorDecision.isRecorded(.approve, id: id, root: root)
        if !recorded {
            events.emit(.approved, id: id, actor: "filesystem", ["note": .string("renamed into approved/ without an approval")], logger: logger)
        }
        return .success(())
    }

    /// The catalog entry and argv for an action file, and the node whose agent runs it (nil:
    /// the executor does), or why it must not run.
    func resolve(_ file: ActionFile) -> Result<(entry: CatalogEntry, argv: [String], node: String?), Refusal> {
        if let problem = file.problems.first { return .failure(Refusal(problem)) }
        guard let name = file.action else { return .failure(Refusal("no \"action\" named")) }
        let entry: CatalogEntry
        switch CatalogEntry.load(name: name, inventory: inventoryFolder) {
        case .success(let loaded): entry = loaded
        case .failure(let reason): return .failure(Refusal(reason.description))
        }
        switch ActionResolver.resolve(entry, args: file.args).flatMap({ argv in ActionResolver.node(entry, args: file.args).map { (argv, $0) } }) {
        case .success(let (argv, node)): return .success((entry, argv, node == settings.localNode ? nil : node))
        case .failure(let failure): return .failure(Refusal(failure.description))
        }
    }

    func finished(_ run: ActionRun, _ outcome: ActionRun.Outcome, file: ActionFile) {
        guard let entry = runs.removeValue(forKey: run.id) else { return }
        busyResources.remove(run.resource)
        var result = ActionFile.Result(startedAt: run.startedAt.iso8601Milliseconds)
        var ok = false
        switch outcome.exit {
        case .exited(let code):
            result.exitCode = Int(code)
            ok = code == 0 && !outcome.timedOut
        case .signaled(let signal):
            result.exitCode = 128 + Int(signal)
            result.signal = Signals.name(signal)
        }
        result.durationMs = outcome.duration.milliseconds
        counters.durationSecondsSum += outcome.duration.milliseconds / 1000
        counters.durationCount += 1
        result.outputTail = outcome.outputTail
        if outcome.timedOut {
            result.error = "timed out after \(run.timeout) s: sent SIGTERM" + (outcome.killed ? ", then SIGKILL after the grace period" : "")
        } else if stopping {
            result.error = "interrupted: the executor was stopped"
            ok = false
        }
        record(file, claim: entry.claim, result: result, ok: ok)
        removeWork(run.id)
        logger.info("\(ok ? "succeeded" : "failed") \(run.id): exit \(result.exitCode.map(String.init) ?? "?") in \(String(format2: outcome.duration.milliseconds)) ms\(outcome.timedOut ? " (timed out)" : "")")
        dispatch()
        stoppedIfIdle()
    }

    /// Writes the action's result and moves it to done/ or failed/, then emits the event, in
    /// the name of whoever ran it (`agent:NODE` for a hand-off).
    func record(_ file: ActionFile, claim: ActionClaim, result: ActionFile.Result, ok: Bool, actor: String = ExecutorService.service) {
        let id = claim.id
        var file = file
        var result = result
        result.finishedAt = result.finishedAt ?? Timestamp.now().iso8601Milliseconds
        file.result = result
        do {
            try claim.finish(file, in: ok ? .done : .failed, root: root)
        } catch {
            logger.error("could not record the result of \(id): \(error)")
        }
        claim.release()
        if ok { counters.succeeded += 1 } else { counters.failed += 1 }
        var data = JSONObject()
        if let exitCode = result.exitCode { data["exitCode"] = .int(exitCode) }
        if let durationMs = result.durationMs { data["durationMs"] = .number(String(format2: durationMs)) }
        if let error = result.error { data["error"] = .string(error) }
        if let signal = result.signal { data["signal"] = .string(signal) }
        events.emit(ok ? .succeeded : .failed, id: id, actor: actor, data, logger: logger)
    }

    /// Removes a finished action's working folder and run marker.
    func removeWork(_ id: String) {
        removeTree(root.executorWork(id))
        unlink(root.executorRunMarker(id))
    }
}
