import FSWatch
import HomelabCore

/// When the fold in memory reaches `world/` (docs/observer.md, "The world on disk").
///
/// A batch folds its events into `World` at once, but the files are written coalesced: at
/// once when nothing else is waiting (so one event's world file lands within the batch, as
/// before), otherwise at most every `flushInterval` while a burst lasts, and when the loop
/// goes idle — each changed resource written once per flush, however many events touched it.
/// Under a burst that was ~1.3 file rewrites (a write into the spare and a `renameat2`) per
/// event; now it is one per resource per flush.
///
/// The checkpoint follows the flush with the seq the flushed world equals, so `world/` is
/// never behind the checkpoint (SPEC §4.3). It may be ahead of it, or the log ahead of both:
/// a restart loads `world/` and folds the log after the checkpoint again (idempotent).
extension ObserverService {
    /// How long a sustained burst may keep `world/` behind the log.
    static let flushInterval = Duration.milliseconds(200)

    /// Whether to write the world inside the batch in hand: nothing else is waiting (the
    /// queue holds only this batch's files and no watch has unread events), or the burst has
    /// kept the world behind for `flushInterval`.
    func flushDue(moreQueued: Bool) -> Bool {
        guard worldBehind else { return false }
        if let lastFlush, MonotonicTime.now() - lastFlush >= Self.flushInterval { return true }
        return !moreQueued && !DirectoryWatch.anyPending(watches)
    }

    /// Writes every resource changed since the last flush (and those that failed before) and
    /// the index; true when all were written.
    func writeWorldFiles() -> Bool {
        worldBehind = false
        lastFlush = MonotonicTime.now()
        return noteFailures(store.write(world, subjects: world.takeDirty().union(unwritten)))
    }

    /// Writes the world and then the checkpoint, if the world on disk is whole. Only once the
    /// log is durable up to its end (every batch's `fdatasync` precedes its return).
    func flushWorld() throws(SystemError) {
        if writeWorldFiles() { try writeCheckpoint() }
    }

    /// After a batch that left the world behind: on the loop's next turn — once its watches
    /// have been read — the world is written unless another batch is on its way.
    func flushWhenIdle() {
        guard worldBehind, !flushCheckScheduled else { return }
        flushCheckScheduled = true
        reactor.runSoon { [unowned self] in
            flushCheckScheduled = false
            guard worldBehind, !batchScheduled else { return }  // that batch flushes or comes back here
            do {
                try flushWorld()
            } catch {
                logger.error("could not write the checkpoint, stopping: \(error)")
                failure = error
                reactor.stop()
            }
        }
    }
}
