#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// The observer: inbox → append-only event log → world state (SPEC §3–4).
///
/// One loop watches `inbox/`, `audit/` (the services' own events) and `posted/` (batches the UI
/// took over HTTP); every wake-up's complete files become one batch, and a batch is committed
/// in this order (see `commit`):
///
/// 1. read and validate every file; refusals are moved to `rejected/` with their reason; an
///    event whose (source, id) the log already holds is a duplicate (`SeenEvents`);
/// 2. number the accepted events (gap-free seq, one `receivedAt` for the batch) and append
///    their lines to the log in one `write` — from here on they are accepted;
/// 3. fold them into the world in memory; `world/` is written coalesced (at once when nothing
///    else waits, every `flushInterval` under a burst: ObserverService+WorldFlush.swift);
/// 4. one `fdatasync` of the log, then move their inbox files into `.done/`, one `fsync` of
///    each folder (on the `CommitThread` while more files wait), and write the checkpoint. An
///    inbox file leaves the inbox only once its line is durable.
///
/// A `kill -9` after 2 leaves inbox files whose lines are already in the log: the next start
/// takes them as duplicates, since the window of logged keys is read back from the log.
/// It also leaves the world somewhere between the checkpoint and the log:
/// start-up replays the log after the checkpoint (the fold is idempotent on a suffix). A torn
/// line from a kill inside `write` is cut off by `EventLog` before anything else happens;
/// its files are still in the inbox. After a reboot, or with no checkpoint, the world is rebuilt
/// from the newest snapshot and the log after it (`ObserverService+Snapshots.swift`).
///
/// Files taken are renamed into their folder's `.done/` after the `fdatasync` and swept while
/// idle (`ProcessedSweeper`); heartbeats are thinned to one logged per node per minute
/// (`World.applyThinnedHeartbeat`); ingest pauses below `HOMELAB_MIN_FREE_MB` of free space
/// (`ObserverService+DiskGuard.swift`).
public final class ObserverService: Service {
    public static let service = "observer"
    static let maxBatch = 4096

    let root: RuntimeRoot
    let logger: Logger
    var log: EventLog!
    var world = World()
    /// The (source, id) of every event in the de-duplication window.
    var seen = SeenEvents()
    let store: WorldStore
    private let rejected: RejectedFolder
    var reactor: Reactor!
    let retentionDays: Int
    let snapshotEvents: Int
    let minFreeMB: Int
    /// The newest snapshot written or read: its seq and the UTC day of its last event.
    var lastSnapshot: (seq: Int, day: String)?
    /// The seq the checkpoint on disk says.
    var checkpointSeq = 0
    /// When each node's last heartbeat was logged (seconds since the epoch): another within
    /// `heartbeatInterval` only moves `lastSeen`.
    private var heartbeatLogged: [Subject: Int64] = [:]
    /// What `state/thinned_heartbeats.json` says now.
    var thinnedOnDisk = ThinnedHeartbeats()
    static let heartbeatInterval: Int64 = 60
    /// The de-duplication window's event count (SPEC §4.1); smaller in tests of retention.
    var windowMinKeys = SeenEvents.minKeys
    /// Set while ingest is paused for want of disk space.
    var paused: IngestPause?
    var lastSpaceCheck: MonotonicTime?
    var spaceTimer: LoopTimer?
    var publishStatus: () -> Void = {}
    var watches: [DirectoryWatch] = []
    /// `inbox/` and `audit/`, open for the service's life.
    private var folders: [DropFolder] = []
    var queue: [String] = []
    private var queued: Set<String> = []
    var batchScheduled = false
    /// Files that did not parse but were still changing: looked at again once quiet.
    private var settling: Set<String> = []
    private var settleTimer: LoopTimer?
    /// How long a file must be left alone before a parse failure counts: one that is still
    /// being written under its final name (seen by the start-up scan) is not JSON yet.
    static let settleTime = Duration.seconds(1)
    var status = ObserverStatus()
    /// Empties the folders' `.done/` while the loop is idle (`sweepDelay` after the last batch).
    private var sweeper: ProcessedSweeper?
    /// A committed batch's file work, done while the next batch is read.
    let commitThread: CommitThread
    private var sweepTimer: LoopTimer?
    static let sweepDelay = Duration.seconds(1)
    private var lastBusy: MonotonicTime?
    /// Resources whose file could not be written: retried with every batch, and until they
    /// are written the checkpoint stays where it was, so a restart folds them again.
    var unwritten: Set<Subject> = []
    var indexFailing = false
    /// The fold in memory is ahead of `world/` (ObserverService+WorldFlush.swift).
    var worldBehind = false
    var lastFlush: MonotonicTime?
    /// The seq the last whole write of `world/` was of: the checkpoint goes no further.
    var worldOnDisk = 0
    var catchUpScheduled = false
    public internal(set) var failure: Error?
    /// The log has one writer.
    public var runsAlone: Bool { true }

    public init(configuration: Configuration, logger: Logger) {
        root = configuration.root
        self.logger = logger
        store = WorldStore(root: configuration.root)
        rejected = RejectedFolder(path: configuration.root.rejected)
        retentionDays = configuration.retentionDays
        snapshotEvents = configuration.snapshotEvents
        minFreeMB = configuration.minFreeMB
        commitThread = CommitThread(store: store) { [logger] line in logger.warning(line) }
    }

    public func onStatusChange(_ publish: @escaping () -> Void) { publishStatus = publish }

    /// Recovers the log, the inbox and the world, then watches the inbox.
    public func start(on reactor: Reactor) throws {
        self.reactor = reactor
        log = try EventLog(folder: root.events)
        if log.tornBytes > 0 {
            logger.warning("cut off a torn last line (\(log.tornBytes) bytes) left in the log by a crash")
        }
        folders = [
            try DropFolder(path: root.inbox, provenance: .producer),
            try DropFolder(path: root.audit, provenance: .service),
            try DropFolder(path: root.posted, provenance: .producer, holdsBatches: true),
        ]
        sweeper = try ProcessedSweeper(processedFolders: folders.map(\.processed))
        try sweeper?.start()
        commitThread.onWorldWritten = { [unowned self] failures, seq in
            if noteFailures(failures) { worldOnDisk = max(worldOnDisk, seq) }
        }
        try commitThread.start()
        sweepTimer = reactor.timer { [unowned self] in
            // Rearmed here rather than on every batch: a burst costs no timer syscalls.
            if let lastBusy, MonotonicTime.now() - lastBusy < Self.sweepDelay {
                sweepTimer?.schedule(at: lastBusy + Self.sweepDelay)
            } else {
                sweeper?.wake()
            }
        }
        sweepTimer?.schedule(after: Self.sweepDelay)  // what a crash left there: logged, so swept
        // The window is read back on a second thread while the world is recovered: both only
        // read the log (its torn tail is already cut), and a rebuild takes seconds.
        var loaded: Result<(SeenEvents, Duration), SystemError>?
        let window = HelperThread { [events = root.events, lastSeq = log.lastSeq, minKeys = windowMinKeys] in
            let loading = MonotonicTime.now()
            loaded = Result { () throws(SystemError) in
                (try SeenEvents.load(from: events, lastSeq: lastSeq, today: SeenEvents.day(of: .now()), minKeys: minKeys),
                 MonotonicTime.now() - loading)
            }
        }
        window.start()
        removeSnapshotTemporaries()  // a snapshot write cut short
        do {
            try recoverWorld()
        } catch {
            window.join()
            throw error
        }
        window.join()
        let (keys, took) = try loaded!.get()
        seen = keys
        Memory.returnFreedPages()  // the smaller rings the window grew out of
        logger.info("de-duplication window: \(seen.count) event keys from the log in \(String(format2: took.milliseconds)) ms (beside the world's recovery)")
        worldOnDisk = checkpointSeq  // a checkpoint is written only over a whole world
        noteSnapshotsOnDisk()
        status.snapshotSeq = lastSnapshot?.seq
        applyRetention()
        // A root already short of space pauses now, not when the next file arrives.
        if spaceAllowsIngest(), let free = Self.freeBytes(root.path) {
            status.ingest = ["paused": .bool(false), "freeMB": .int(free >> 20), "minFreeMB": .int(minFreeMB)]
        }
        watches = try folders.map { folder throws(SystemError) in
            try DirectoryWatch(reactor: reactor, root: folder.path, options: .arrivalsOnly) { [unowned self] events in self.enqueue(events) }
        }
        // Said once the watches' first scans have run (they were queued first): from then on a
        // file dropped in is taken in the order it arrives, not in a listing's order.
        reactor.runSoon { [unowned self] in
            logger.info("watching \(root.inbox), \(root.audit) and \(root.posted): log at seq \(log.lastSeq), world has \(world.resourceCount) resources")
        }
    }

    /// Called once the loop has ended: the batch in hand is complete by then.
    public func shutdown() {
        settleTimer?.cancel()
        sweepTimer?.cancel()
        spaceTimer?.cancel()
        for watch in watches { watch.close() }
        if failure == nil {
            do { try catchUp() } catch { logger.error("could not write the checkpoint: \(error)") }
        }
        commitThread.stop()
        sweeper?.stop()
        sweeper = nil
        for folder in folders { folder.close() }
        logger.info("stopped: \(status.counters.accepted) accepted, \(status.counters.rejected) rejected in \(status.counters.batches) batches")
    }

    // MARK: Start-up

    private func recoverWorld() throws {
        let checkpoint = Checkpoint.read(root.observerCheckpoint)
        var reason = "no checkpoint"
        if let checkpoint {
            if checkpoint.bootID != BootID.current {
                reason = "checkpoint from an earlier boot"
            } else if checkpoint.seq > log.lastSeq {
                reason = "checkpoint at seq \(checkpoint.seq) is past the log's end (\(log.lastSeq))"
            } else if checkpoint.seq + 1 < log.firstSeq {
                reason = "checkpoint at seq \(checkpoint.seq) is before the log's start (\(log.firstSeq))"
            } else if let index = WorldIndex.read(root.worldIndex), store.load(into: world) != nil {
                world.restoreIndex(seq: index.seq, generatedAt: index.generatedAt)
                world.restoreLoggedLastSeen(checkpoint.loggedLastSeen)
                checkpointSeq = checkpoint.seq
                let replayed = try replay(after: checkpoint.seq, label: "catching up")
                if replayed > 0 { try flushWorld() }
                return
            } else {
                reason = "world/ is not readable as written"
                world = World()
            }
        }
        try rebuildWorld(reason: reason)
    }

    /// Folds the log after `seq` into the world, with progress for long replays.
    func replay(after seq: Int, label: String) throws -> Int {
        let total = log.lastSeq - seq
        guard total > 0 else { return 0 }
        var done = 0
        try log.forEachLine(after: seq) { line, lineSeq in
            guard world.apply(line: line, seq: lineSeq, orElse: { LoggedEvent(line: line) }) else {
                throw LogError(.notAnEvent, "\(log.folder): a line that is not a log event at seq \(lineSeq)")
            }
            done += 1
            if done % 100_000 == 0 { logger.info("\(label): \(done)/\(total) events (\(done * 100 / total)%)") }
        }
        if label != "rebuild" { logger.info("\(label): folded \(done) events logged after the checkpoint") }
        return done
    }

    /// Remembers what could not be written; true when everything was.
    func noteFailures(_ failures: WorldStore.Failures) -> Bool {
        for (subject, error) in failures.resources where !unwritten.contains(subject) {
            logger.error("could not write the world file of \(subject): \(error); the log goes on, and the file is retried with each batch")
        }
        if let error = failures.index, !indexFailing { logger.error("could not write \(root.worldIndex): \(error)") }
        indexFailing = failures.index != nil
        status.counters.worldWriteFailures += failures.resources.count + (failures.index == nil ? 0 : 1)
        unwritten = Set(failures.resources.keys)
        return failures.isEmpty
    }

    /// The checkpoint at `seq` (the log's end unless said), with the thinned heartbeats' `lastSeen`.
    func writeCheckpoint(seq: Int? = nil) throws(SystemError) {
        let seq = seq ?? log.lastSeq
        try Checkpoint(seq: seq, bootID: BootID.current, loggedLastSeen: world.loggedLastSeenByName).write(root.observerCheckpoint, at: .now())
        checkpointSeq = seq
    }

    /// `state/thinned_heartbeats.json`, when it would say something new: before the world
    /// files that show it.
    func saveThinnedHeartbeats() throws(SystemError) {
        let now = ThinnedHeartbeats(of: world)
        guard now != thinnedOnDisk else { return }
        try now.write(root.thinnedHeartbeats)
        thinnedOnDisk = now
    }

    // MARK: Batches

    private func enqueue(_ events: [WatchEvent]) {
        queued.reserveCapacity(queued.count + events.count)
        for event in events {
            switch event.kind {
            case .ready where folders.contains(where: { $0.holds(event.path) }), .directoryAdded:
                if queued.insert(event.path).inserted { queue.append(event.path) }
            default:
                continue  // temporaries (*.tmp), removals
            }
        }
        scheduleBatch()
    }

    func scheduleBatch() {
        guard !batchScheduled, !queue.isEmpty, paused == nil else { return }
        batchScheduled = true
        reactor.runSoon { [unowned self] in
            batchScheduled = false
            // The disk guard: at most one statvfs a second; the files wait in their folders.
            guard spaceAllowsIngest() else {
                catchUpWhenIdle()
                return
            }
            let paths = Array(queue.prefix(Self.maxBatch))
            let count: Int
            do {
                count = try commit(paths)
                queue.removeFirst(count)
                for path in paths[0..<count] { queued.remove(path) }
            } catch {
                // The log may be in doubt: stop, and let the restart's recovery sort it out.
                logger.error("batch failed, stopping: \(error)")
                failure = error
                reactor.stop()
                return
            }
            snapshotIfDue()
            if queue.isEmpty && count >= 1024 {
                // A burst is over: hand the batch buffers back so the steady RSS stays small.
                Memory.returnFreedPages()
            }
            scheduleBatch()
        }
    }

    /// Queues `path` again after `settleTime`; only a file still invalid once quiet is refused.
    private func settle(_ path: String) {
        settling.insert(path)
        if settleTimer == nil {
            settleTimer = reactor.timer { [unowned self] in
                for path in settling where queued.insert(path).inserted { queue.append(path) }
                settling.removeAll()
                scheduleBatch()
            }
        }
        if settleTimer?.isScheduled == false { settleTimer?.schedule(after: Self.settleTime) }
    }

    /// Commits the files of `paths`, in order, until the batch holds `maxBatch` events;
    /// returns how many of the paths it took.
    private func commit(_ paths: [String]) throws -> Int {
        let started = MonotonicTime.now()
        sweeper?.busyNow()
        lastBusy = started
        if sweepTimer?.isScheduled == false { sweepTimer?.schedule(after: Self.sweepDelay) }
        let now = Timestamp.now()
        let receivedAt = now.iso8601Milliseconds
        var accepted: [InboxEvent] = []
        /// Heartbeats folded without being logged, with their place among `accepted`.
        var thinned: [(before: Int, subject: Subject, time: String)] = []
        let nowSeconds = Int64(now.secondsSinceEpoch)
        var keys: [SeenEvents.Key] = []
        var batchKeys: Set<SeenEvents.Key> = []
        var duplicates = 0
        /// Files whose every event is logged (or a duplicate) once the batch is durable.
        var taken: [(folder: DropFolder, name: String)] = []
        var refused: [(path: String, reason: Rejection)] = []
        var refusedLines: [(name: String, line: ArraySlice<UInt8>, reason: Rejection)] = []
        var touched: Set<ObjectIdentifier> = []
        var consumed = 0
        func take(_ event: InboxEvent) {
            let key = SeenEvents.key(source: event.source, id: event.id)
            guard !seen.contains(key), batchKeys.insert(key).inserted else {
                duplicates += 1
                return
            }
            keys.append(key)
            if event.type == "node.heartbeat", let text = event.subject, case .success(let subject) = Subject.parse(text) {
                if let last = heartbeatLogged[subject], nowSeconds - last < Self.heartbeatInterval, world.resource(subject) != nil {
                    thinned.append((accepted.count, subject, event.time ?? receivedAt))
                    return
                }
                heartbeatLogged[subject] = nowSeconds
            }
            accepted.append(event)
        }
        for path in paths {
            if accepted.count >= Self.maxBatch { break }
            consumed += 1
            guard let (folder, name) = folders.lazy.compactMap({ folder in folder.name(of: path).map { (folder, $0) } }).first else { continue }
            switch folder.read(name) {
            case .gone:
                continue
            case .rejected(let reason):
                refused.append((path, reason))
            case .bytes(let bytes) where folder.holdsBatches:
                // Written whole by the UI (renamed into place), so a bad line is bad for good.
                for (index, (line, result)) in folder.validateLines(bytes).enumerated() {
                    switch result {
                    case .success(let event): take(event)
                    case .failure(let reason): refusedLines.append(("\(name).line\(index + 1)", line, reason))
                    }
                }
                taken.append((folder, name))
            case .bytes(let bytes):
                switch folder.validate(bytes) {
                case .failure(let reason) where reason.mayBeIncomplete && folder.isFresh(name, window: Self.settleTime):
                    // Half-written, most likely: the watch reports its close, and a timer
                    // looks again in case it never comes (a file found by the start-up scan).
                    settle(path)
                    continue
                case .failure(let reason):
                    refused.append((path, reason))
                case .success(let event):
                    take(event)
                    taken.append((folder, name))
                }
            }
            touched.insert(ObjectIdentifier(folder))
        }

        // 2. The log, written (durable in step 4): from here on the events are accepted.
        let firstSeq = log.lastSeq + 1
        var lines: [UInt8] = []
        var lineEnds: [Int] = []  // each line's end, its newline excluded
        var logged: [LoggedEvent] = []
        logged.reserveCapacity(accepted.count)
        lineEnds.reserveCapacity(accepted.count)
        for (offset, item) in accepted.enumerated() {
            let event = item.logged(seq: firstSeq + offset, receivedAt: receivedAt)
            lines.append(contentsOf: event.line)
            lineEnds.append(lines.count - 1)
            logged.append(event)
        }
        if !logged.isEmpty { try log.append(lines, firstSeq: firstSeq, count: logged.count, day: now.day) }
        let today = SeenEvents.day(of: now)
        for key in keys { seen.insert(key, day: today) }

        for (path, reason) in refused {
            do {
                try rejected.reject(path, reason: reason, at: now)
            } catch {
                logger.warning("could not move \(path) to rejected/ (\(reason.reason)): \(error)")
            }
        }
        for (name, line, reason) in refusedLines {
            logger.warning("posted batch \(name): \(reason.reason)")
            do {
                try rejected.keep(Array(line) + [0x0A], as: name + ".json", reason: reason, at: now)
            } catch {
                logger.warning("could not keep \(name) in rejected/ (\(reason.reason)): \(error)")
            }
        }

        // 3. The fold, in memory; the files when nothing else waits (that is the latency a
        //    watcher of world/ sees) or the burst has kept them behind for `flushInterval`.
        //    Ahead of the checkpoint the world is harmless (replay is idempotent); ahead of
        //    the fdatasync only a power cut could tell, and after a reboot the world is rebuilt
        //    from the log while the batch's files are still in the inbox.
        var next = 0
        lines.withUnsafeBufferPointer { lines in
            func fold(through end: Int) {
                while next < end {
                    let start = next == 0 ? 0 : lineEnds[next - 1] + 1
                    _ = world.apply(line: UnsafeBufferPointer(rebasing: lines[start..<lineEnds[next]]), seq: logged[next].seq) { logged[next] }
                    next += 1
                }
            }
            for (before, subject, time) in thinned {
                fold(through: before)
                _ = world.applyThinnedHeartbeat(subject, time: time)
            }
            fold(through: logged.count)
        }
        // More to take right after this batch: the world waits (up to `flushInterval`) and the
        // files are moved on the commit thread while the next batch is read.
        let more = queue.count > consumed || DirectoryWatch.anyPending(watches)
        if world.takeLoggedLastSeenGrew() {
            // A node's file is about to say a lastSeen the log does not: the checkpoint learns
            // the logged one first, so a crash in between cannot pass the newer one off as folded.
            try writeCheckpoint(seq: checkpointSeq)
        }
        try saveThinnedHeartbeats()
        let retrying = !unwritten.isEmpty || indexFailing
        if !logged.isEmpty || !thinned.isEmpty || retrying { worldBehind = true }
        var job = CommitThread.Job(files: taken, folders: folders.filter { touched.contains(ObjectIdentifier($0)) })
        if flushDue(more: more) {
            try commitThread.wait()  // the write before this one lands first, and its failures are known
            if more {
                job.world = prepareWorldWrite()  // written on the commit thread
                job.worldSeq = log.lastSeq
            } else {
                _ = writeWorldFiles()
            }
        }

        // 4. The group commit (one fdatasync), then the files out of the inbox (one folder
        //    fsync), then the checkpoint, which promises that no file of a batch it covers is
        //    left to take. A taken file is renamed into `.done/`, not unlinked: the sweeper
        //    removes it when idle. With more to take, the renames (and a world write that is
        //    due) run on the commit thread, and the checkpoint covers only what it has finished.
        if !logged.isEmpty { try log.sync() }
        if job.isEmpty {
        } else if more {
            try commitThread.hand(job, through: log.lastSeq)
        } else {
            try commitThread.runHere(job, through: log.lastSeq)
        }
        if !refused.isEmpty || !refusedLines.isEmpty { try AtomicFile.syncFolder(root.rejected) }
        try advanceCheckpoint()
        catchUpWhenIdle()

        let elapsed = MonotonicTime.now() - started
        status.record(accepted: logged.count, rejected: refused.count + refusedLines.count, at: now, duration: elapsed)
        status.counters.duplicates += duplicates
        status.counters.heartbeatsThinned += thinned.count
        guard !logged.isEmpty || !refused.isEmpty || !refusedLines.isEmpty || duplicates > 0 else { return consumed }
        var line = "batch: accepted \(logged.count), rejected \(refused.count + refusedLines.count)"
        if duplicates > 0 { line += ", duplicates \(duplicates)" }
        if let last = logged.last { line += ", seq \(firstSeq)–\(last.seq)" }
        line += ", \(String(format2: elapsed.milliseconds)) ms"
        logger.info(line)
        for (path, reason) in refused { logger.debug("rejected \(path): \(reason.reason)") }
        return consumed
    }

    // MARK: Status

    public var statusDetails: JSONObject {
        var current = status
        current.seq = log?.lastSeq ?? 0
        current.resources = world.resourceCount
        current.counters.ignoredTypes = world.ignoredEvents
        current.counters.inotifyOverflows = watches.reduce(0) { $0 + $1.overflows }
        current.counters.rescans = watches.reduce(0) { $0 + $1.rescans }
        current.counters.queued = queue.count
        return current.details
    }
}
