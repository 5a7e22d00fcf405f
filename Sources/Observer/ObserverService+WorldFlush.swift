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

    /// Whether to write the world inside the batch in hand: nothing more is waiting (`more`:
    /// the queue holds more than this batch's files, or a watch has unread events), or the
    /// burst has kept the world behind for `flushInterval`.
    func flushDue(more: Bool) -> Bool {
        guard worldBehind else { return false }
        if !more { return true }
        guard let lastFlush else { return true }
        return MonotonicTime.now() - lastFlush >= Self.flushInterval
    }

    /// The bytes of every resource changed since the last flush (and of those that failed
    /// before) and of the index: the world as it is now, to be written by the commit thread.
    func prepareWorldWrite() -> WorldStore.Writes {
        worldBehind = false
        lastFlush = MonotonicTime.now()
        return store.prepare(world, subjects: world.takeDirty().union(unwritten))
    }

    /// Writes them on this thread (the commit thread idle); true when all were written.
    func writeWorldFiles() -> Bool {
        let seq = log.lastSeq
        guard noteFailures(store.perform(prepareWorldWrite())) else { return false }
        worldOnDisk = seq
        return true
    }

    /// The checkpoint moved as far as it may: to the last whole world write, and no further
    /// than the batches whose files the commit thread has moved.
    func advanceCheckpoint() throws(SystemError) {
        let covered = min(worldOnDisk, commitThread.isBusy ? commitThread.through : log.lastSeq)
        if covered > checkpointSeq { try writeCheckpoint(seq: covered) }
    }

    /// Writes the world and then the checkpoint, if the world on disk is whole. Only once the
    /// log is durable up to its end (every batch's `fdatasync` precedes its return) and the
    /// commit thread has moved every taken file.
    func flushWorld() throws(SystemError) {
        try commitThread.wait()
        if writeWorldFiles() { try writeCheckpoint() }
    }

    /// Once nothing is waiting: the commit thread's job finished, the world written if it is behind,
    /// and the checkpoint moved to the log's end.
    func catchUp() throws(SystemError) {
        try commitThread.wait()
        if worldBehind { _ = writeWorldFiles() }
        try advanceCheckpoint()
    }

    /// After a batch that left the world or the checkpoint behind: on the loop's next turn —
    /// once its watches have been read — catches up unless another batch is on its way.
    func catchUpWhenIdle() {
        guard worldBehind || commitThread.isBusy, !catchUpScheduled else { return }
        catchUpScheduled = true
        reactor.runSoon { [unowned self] in
            catchUpScheduled = false
            guard worldBehind || commitThread.isBusy, !batchScheduled else { return }  // that batch comes back here
            do {
                try catchUp()
            } catch {
                logger.error("could not move taken files or write the checkpoint, stopping: \(error)")
                failure = error
                reactor.stop()
            }
        }
    }
}
