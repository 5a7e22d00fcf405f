#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// The executor (SPEC §6): runs approved actions, safely and exactly once.
///
/// Claiming is an exclusive `flock` on `approved/ID.json` followed by its rename into
/// `running/`: of two executors only the one holding the lock renames, and the lock travels
/// with the file, so a starting executor can tell an action another one is running (locked)
/// from one whose executor died (unlocked: interrupted, moved to `failed/`, never re-run).
/// The command comes only from the catalog as it is in the repository at that moment; an
/// action file's own fields never supply one.
public final class ExecutorService {
    public static let service = "executor"
    static let minimalPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    public struct Settings: Sendable {
        public var concurrency = 2
        /// After SIGTERM on timeout, how long before SIGKILL.
        public var killGrace: Duration = .seconds(5)
        /// Variables handed on to every action besides the minimal ones — DOCKER_CONFIG, so
        /// `docker --context NODE` finds the contexts of the homelab's nodes.
        public var passedEnvironment: [String: String] = [:]
        public init() {}
    }

    private let root: RuntimeRoot
    private let inventoryFolder: String
    private let logger: Logger
    private let settings: Settings
    private let heartbeat: Duration
    private let inbox: InboxWriter
    private let startedAt = Timestamp.now()
    private weak var reactor: Reactor?
    private var watch: DirectoryWatch?
    /// Approved actions seen, in arrival order, not yet claimed or given up.
    private var candidates: [String] = []
    private var candidateSet: Set<String> = []
    private var runs: [String: (run: ActionRun, lock: Int32)] = [:]
    private var busyResources: Set<String> = []
    private var stopping = false
    private var durationTotal = 0.0
    private var durationCount = 0
    public private(set) var succeeded = 0
    public private(set) var failed = 0

    public init(configuration: Configuration, logger: Logger, settings: Settings = Settings()) {
        root = configuration.root
        inventoryFolder = configuration.inventory
        self.logger = logger
        self.settings = settings
        heartbeat = .seconds(configuration.heartbeatSeconds)
        inbox = InboxWriter(inbox: configuration.root.inbox, source: Self.service)
    }

    /// Serves until SIGTERM/SIGINT; running actions are then ended and recorded as failed.
    public func run() throws {
        try ServiceLoop.run(root: root, logger: logger, start: { reactor in try start(on: reactor) }, stopped: stop)
    }

    public func start(on reactor: Reactor) throws {
        self.reactor = reactor
        try makeFolder(root.state + "/executor")
        recoverInterrupted()
        watch = try DirectoryWatch(reactor: reactor, root: root.actions(.approved)) { [unowned self] events in
            var arrived: [String] = []
            for event in events where event.kind == .ready && event.path.hasSuffix(".json") {
                let id = String(event.path.split(separator: "/").last!.dropLast(5))
                if candidateSet.insert(id).inserted { arrived.append(id) }
            }
            // A scan lists in no particular order: oldest approval first (a rename sets ctime,
            // to the kernel's coarse clock; ties by name).
            candidates += arrived.count > 1 ? arrived.map { (approvedAt($0), $0) }.sorted { $0 < $1 }.map(\.1) : arrived
            dispatch()
        }
        reactor.timer(after: heartbeat, repeating: heartbeat) { [unowned self] in writeStatus() }
        writeStatus()
        logger.info("watching \(root.actions(.approved)): up to \(settings.concurrency) actions at once, one per resource")
    }

    /// Ends every running action (the executor is stopping) and records it as failed.
    public func stop() {
        stopping = true
        for (_, entry) in runs { entry.run.abort() }
        writeStatus()
        logger.info("stopped: \(succeeded) succeeded, \(failed) failed")
    }

    public var running: Int { runs.count }

    // MARK: Claiming

    /// Starts what the free slots allow, oldest first, one action per resource at a time.
    private func dispatch() {
        guard !stopping else { return }
        var index = 0
        while runs.count < settings.concurrency && index < candidates.count {
            let id = candidates[index]
            let path = root.actions(.approved) + "/" + id + ".json"
            guard let file = FileContents.object(path) else {
                forget(at: index)  // gone: claimed elsewhere, or not ours to read
                continue
            }
            let resource = file["resource"]?.string ?? ""
            if !resource.isEmpty && busyResources.contains(resource) {
                index += 1  // waits for that resource's action to end
                continue
            }
            forget(at: index)
            if let lock = claim(id) { begin(id, file: file, lock: lock) }
        }
    }

    private func forget(at index: Int) {
        candidateSet.remove(candidates[index])
        candidates.remove(at: index)
    }

    /// Locks `approved/ID.json` and renames it into `running/`; nil if another executor got it.
    private func claim(_ id: String) -> Int32? {
        let from = root.actions(.approved) + "/" + id + ".json"
        let lock = open(from, O_RDONLY | O_CLOEXEC)
        guard lock >= 0 else { return nil }
        guard flock(lock, LOCK_EX | LOCK_NB) == 0, rename(from, root.actions(.running) + "/" + id + ".json") == 0 else {
            close(lock)
            return nil
        }
        return lock
    }

    // MARK: Running

    private func begin(_ id: String, file: JSONObject, lock: Int32) {
        let resource = file["resource"]?.string ?? ""
        let argv: [String]
        let entry: CatalogEntry
        switch resolve(file) {
        case .failure(let refusal):
            record(id, file: file, lock: lock, result: ["error": .string(refusal.description), "startedAt": .string(Timestamp.now().iso8601Milliseconds)], ok: false)
            logger.warning("refused \(id): \(refusal)")
            return
        case .success(let resolved):
            (entry, argv) = resolved
        }
        let folder = root.state + "/executor/" + id
        let logPath = root.actionLogs + "/" + id + ".log"
        do {
            try makeFolder(folder)
            guard let program = ChildProcess.locate(argv[0], path: Self.minimalPath) else {
                throw Refusal("command not found: \(argv[0]) (PATH=\(Self.minimalPath))")
            }
            let log = try FileDescriptor.open(logPath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND).release()
            let run = try ActionRun(id: id, resource: resource, argv: [program] + argv.dropFirst(),
                                    environment: settings.passedEnvironment.merging([
                                        "PATH": Self.minimalPath, "HOME": folder, "LANG": "C.UTF-8", "HOMELAB_ACTION_ID": id,
                                    ]) { $1 }, folder: folder, log: log, timeout: entry.timeoutSeconds, grace: settings.killGrace,
                                    reactor: reactor!) { [unowned self] run, outcome in finished(run, outcome, file: file) }
            do {
                try AtomicFile.write("{\"pgid\":\(run.pid),\"bootId\":\"\(BootID.current)\"}\n", to: folder + ".run", durability: .none)
            } catch {
                // Without its marker an executor restarted later could not find the group to
                // kill: better not to run it at all. (Not yet in `runs`, so the abort records
                // nothing; the error below does.)
                run.abort()
                throw error
            }
            runs[id] = (run, lock)
            if !resource.isEmpty { busyResources.insert(resource) }
            emit("action.started", id, ["actor": .string(Self.service), "pid": .int(Int(run.pid)), "argv": .array(argv.map(JSONValue.string))])
            logger.info("started \(id): \(entry.name) for \(resource.isEmpty ? "-" : resource), pid \(run.pid)")
        } catch {
            record(id, file: file, lock: lock, result: ["error": .string("could not start: \(error)"), "startedAt": .string(Timestamp.now().iso8601Milliseconds)], ok: false)
            logger.warning("could not start \(id): \(error)")
        }
    }

    struct Refusal: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// The catalog entry and argv for an action file, or why it must not run.
    private func resolve(_ file: JSONObject) -> Result<(CatalogEntry, [String]), Refusal> {
        if file["argv"] != nil || file["command"] != nil {
            return .failure(Refusal("the action file carries its own command; commands come only from the catalog"))
        }
        guard let name = file["action"]?.string else { return .failure(Refusal("no \"action\" named")) }
        guard CatalogEntry.isValidName(name), let bytes = FileContents.read(inventoryFolder + "/actions/" + name + ".json", limit: 1 << 20) else {
            return .failure(Refusal("unknown action \"\(name)\": not in the catalog"))
        }
        let entry: CatalogEntry
        switch CatalogEntry.parse(name: name, bytes) {
        case .success(let parsed): entry = parsed
        case .failure(let reason): return .failure(Refusal("the catalog entry \(name) is invalid: \(reason)"))
        }
        var args: [String: String] = [:]
        for (key, value) in file["args"]?.object ?? [:] {
            guard let text = value.string else { return .failure(Refusal("arg \"\(key)\" must be a string")) }
            args[key] = text
        }
        switch ActionResolver.resolve(entry, args: args) {
        case .success(let argv): return .success((entry, argv))
        case .failure(let failure): return .failure(Refusal(failure.description))
        }
    }

    private func finished(_ run: ActionRun, _ outcome: ActionRun.Outcome, file: JSONObject) {
        guard let entry = runs.removeValue(forKey: run.id) else { return }
        busyResources.remove(run.resource)
        var result: JSONObject = ["startedAt": .string(run.startedAt.iso8601Milliseconds)]
        var ok = false
        switch outcome.exit {
        case .exited(let code):
            result["exitCode"] = .int(Int(code))
            ok = code == 0 && !outcome.timedOut
        case .signaled(let signal):
            result["exitCode"] = .int(128 + Int(signal))
            result["signal"] = .string(Signals.name(signal))
        }
        result["durationMs"] = .number(String(format2: outcome.duration.milliseconds))
        durationTotal += outcome.duration.milliseconds / 1000
        durationCount += 1
        result["outputTail"] = .string(outcome.outputTail)
        if outcome.timedOut {
            result["error"] = .string("timed out after \(run.timeout) s: sent SIGTERM" + (outcome.killed ? ", then SIGKILL after the grace period" : ""))
        } else if stopping {
            result["error"] = .string("interrupted: the executor was stopped")
            ok = false
        }
        record(run.id, file: file, lock: entry.lock, result: result, ok: ok)
        let folder = root.state + "/executor/" + run.id
        removeTree(folder)
        unlink(folder + ".run")
        logger.info("\(ok ? "succeeded" : "failed") \(run.id): exit \(result["exitCode"].map(JSONWriter.string) ?? "?") in \(result["durationMs"].map(JSONWriter.string) ?? "?") ms\(outcome.timedOut ? " (timed out)" : "")")
        dispatch()
    }

    /// Writes the action's result and moves it to done/ or failed/, then emits the event.
    private func record(_ id: String, file: JSONObject, lock: Int32, result: JSONObject, ok: Bool) {
        var file = file
        var result = result
        result["finishedAt"] = .string(Timestamp.now().iso8601Milliseconds)
        file["result"] = .object(result)
        let target = root.actions(ok ? .done : .failed) + "/" + id + ".json"
        do {
            try AtomicFile.write(JSONWriter.encode(.object(file)) + [0x0A], to: target)
            unlink(root.actions(.running) + "/" + id + ".json")
        } catch {
            logger.error("could not record the result of \(id): \(error)")
        }
        close(lock)
        if ok { succeeded += 1 } else { failed += 1 }
        var data: JSONObject = ["actor": .string(Self.service)]
        for key in ["exitCode", "durationMs", "error", "signal"] { if let value = result[key] { data[key] = value } }
        emit(ok ? "action.succeeded" : "action.failed", id, data)
    }

    // MARK: Start-up

    /// Actions left in running/ by an executor that died: unlocked ones were interrupted. They
    /// go to failed/ and are never re-run; what is left of their process group is killed.
    private func recoverInterrupted() {
        for entry in listDirectory(root.actions(.running)) where entry.name.hasSuffix(".json") && !entry.name.hasPrefix(".") {
            let path = root.actions(.running) + "/" + entry.name
            let id = String(entry.name.dropLast(5))
            let lock = open(path, O_RDONLY | O_CLOEXEC)
            guard lock >= 0 else { continue }
            guard flock(lock, LOCK_EX | LOCK_NB) == 0 else {
                close(lock)  // another executor is running it
                continue
            }
            let folder = root.state + "/executor/" + id
            if let marker = FileContents.object(folder + ".run"), marker["bootId"]?.string == BootID.current, let group = marker["pgid"]?.int, group > 1 {
                ChildProcess.signalGroup(pid_t(group), SIGKILL)
            }
            removeTree(folder)
            unlink(folder + ".run")
            let file = FileContents.object(path) ?? ["id": .string(id)]
            record(id, file: file, lock: lock, result: ["error": .string("interrupted: the executor stopped while it ran; not re-run")], ok: false)
            logger.warning("\(id) was interrupted by an executor that stopped; moved to failed/")
        }
    }

    // MARK: Helpers

    private func approvedAt(_ id: String) -> Int64 {
        var info = stat()
        guard stat(root.actions(.approved) + "/" + id + ".json", &info) == 0 else { return .max }
        return Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec)
    }

    private func emit(_ type: String, _ id: String, _ data: JSONObject) {
        do {
            try inbox.emit(type: type, subject: "action/" + id, data: .object(data))
        } catch {
            logger.warning("could not emit \(type) for \(id): \(error)")
        }
    }


    private func makeFolder(_ path: String) throws(SystemError) {
        if mkdir(path, 0o755) != 0 && Errno.current != .fileExists { throw SystemError("mkdir", Errno.current, subject: path) }
    }

    private func removeTree(_ path: String) {
        for entry in listDirectory(path) {
            let child = path + "/" + entry.name
            if entry.kind == .directory { removeTree(child) } else { unlink(child) }
        }
        rmdir(path)
    }

    private func writeStatus() {
        let status: JSONValue = .object([
            "service": .string(Self.service), "pid": .int(Int(ProcessID.current)), "startedAt": .string(startedAt.iso8601),
            "heartbeatAt": .string(Timestamp.now().iso8601Milliseconds), "running": .int(runs.count),
            "queued": .int(candidates.count), "concurrency": .int(settings.concurrency),
            "counters": .object(["succeeded": .int(succeeded), "failed": .int(failed),
                                 "durationSecondsSum": .number(String(format2: durationTotal)), "durationCount": .int(durationCount)]),
        ])
        try? AtomicFile.rewrite(JSONWriter.encode(status) + [0x0A], to: root.serviceState(Self.service))
    }
}
