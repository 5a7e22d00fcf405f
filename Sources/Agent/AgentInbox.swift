#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// The agent's own inbox (SPEC §11, `HOMELAB_AGENT_INBOX`): files dropped there follow §4.1
/// and are forwarded like the agent's own events, as long as they speak only for this node.
///
/// A batch (one wake-up's files): each read without trusting it and validated as from
/// `node/NAME`; refusals move to `rejected/` beside the inbox with their reason; the valid
/// ones are appended to the spool, the spool synced, and only then their files unlinked and
/// the folder fsynced. A crash in between forwards the same `(source, id)` again, which the
/// receiver de-duplicates. A file still being written under its final name gets
/// `settleTime` before a parse failure counts. While the spool is full, files stay where they
/// are (nothing is dropped) until `rescan()` once there is room.
final class AgentInbox {
    static let settleTime = Duration.seconds(1)
    static let maxBatch = 1000

    let folder: DropFolder
    let rejected: RejectedFolder
    private let spool: Spool
    private let reactor: Reactor
    private let logger: Logger
    /// Called after a batch was spooled: deliver it.
    private let spooled: () -> Void
    /// Called when a file found the spool full.
    private let full: () -> Void
    private var watch: DirectoryWatch?
    private var queue: [String] = []
    private var queued: Set<String> = []
    private var scheduled = false
    private var settling: Set<String> = []
    private var settleTimer: LoopTimer?
    /// Files were left in place because the spool was full.
    private(set) var waitingForRoom = false
    private(set) var forwarded = 0
    private(set) var refused = 0

    init(path: String, rejected: String, node: String, spool: Spool, reactor: Reactor, logger: Logger,
         spooled: @escaping () -> Void, full: @escaping () -> Void) throws {
        folder = try DropFolder(path: path, provenance: .node(node))
        self.rejected = RejectedFolder(path: rejected)
        self.spool = spool
        self.reactor = reactor
        self.logger = logger
        self.spooled = spooled
        self.full = full
    }

    /// Watches the folder; the files already there come first (the watch's start-up scan).
    func start() throws {
        watch = try DirectoryWatch(reactor: reactor, root: folder.path, options: .arrivalsOnly) { [unowned self] events in
            for event in events where event.kind == .ready && event.path.hasSuffix(".json") {
                if let name = folder.name(of: event.path) { enqueue(name) }
            }
            schedule()
        }
    }

    /// Takes again what the folder holds: once the spool has room after being full.
    func rescan() {
        waitingForRoom = false
        for name in folder.waiting { enqueue(name) }
        schedule()
    }

    func close() {
        settleTimer?.cancel()
        watch?.close()
        folder.close()
    }

    private func enqueue(_ name: String) {
        if queued.insert(name).inserted { queue.append(name) }
    }

    private func schedule() {
        guard !scheduled, !queue.isEmpty else { return }
        scheduled = true
        reactor.runSoon { [weak self] in
            guard let self else { return }
            scheduled = false
            let names = Array(queue.prefix(Self.maxBatch))
            queue.removeFirst(names.count)
            for name in names { queued.remove(name) }
            take(names)
            schedule()
        }
    }

    private func take(_ names: [String]) {
        let now = Timestamp.now()
        var taken: [String] = []
        var refusals: [(name: String, reason: Rejection)] = []
        for name in names where !waitingForRoom {
            switch folder.read(name) {
            case .gone:
                continue
            case .rejected(let reason):
                refusals.append((name, reason))
            case .bytes(let bytes):
                switch folder.validate(bytes) {
                case .failure(let reason) where reason.mayBeIncomplete && folder.isFresh(name, window: Self.settleTime):
                    settle(name)
                case .failure(let reason):
                    refusals.append((name, reason))
                case .success(var event):
                    // Received here: the node's clock is the time of receipt (SPEC §4.1).
                    if event.time == nil { event.time = now.iso8601Milliseconds }
                    do {
                        if try spool.append(event.encoded, subject: event.subject, snapshot: event.type == "resource.snapshot") {
                            taken.append(name)
                        } else {
                            waitingForRoom = true  // this file and the rest wait for `rescan`
                            full()
                        }
                    } catch {
                        logger.error("cannot spool \(folder.path)/\(name): \(error); it stays in the inbox")
                    }
                }
            }
        }
        if !taken.isEmpty {
            do {
                try spool.sync()
            } catch {
                return logger.error("cannot sync the spool: \(error); \(taken.count) inbox files stay")
            }
            for name in taken where !folder.remove(name) && Errno.current != .noSuchFile {
                logger.warning("could not remove \(folder.path)/\(name): \(Errno.current)")
            }
            do {
                try folder.sync()
            } catch {
                logger.warning("cannot sync \(folder.path): \(error)")
            }
            forwarded += taken.count
            spooled()
        }
        for (name, reason) in refusals {
            refused += 1
            logger.warning("refused \(folder.path)/\(name): \(reason.reason); moved to \(rejected.path)")
            do {
                try rejected.reject(folder.path + "/" + name, reason: reason, at: now)
            } catch {
                logger.error("could not move \(folder.path)/\(name) to \(rejected.path): \(error)")
            }
        }
        if !refusals.isEmpty { try? AtomicFile.syncFolder(rejected.path) }
    }

    /// Looks at `name` again after `settleTime`: only a file still invalid once quiet is refused.
    private func settle(_ name: String) {
        settling.insert(name)
        if settleTimer == nil {
            settleTimer = reactor.timer { [unowned self] in
                for name in settling { enqueue(name) }
                settling.removeAll()
                schedule()
            }
        }
        if settleTimer?.isScheduled == false { settleTimer?.schedule(after: Self.settleTime) }
    }
}
