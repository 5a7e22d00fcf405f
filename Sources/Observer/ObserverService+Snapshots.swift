#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// Snapshots and retention (SPEC §4.3, docs/observer.md): the world as the fold of the log is
/// written to `state/snapshots/SEQ.jsonl` every `HOMELAB_SNAPSHOT_EVENTS` events and at least
/// once a UTC day with events; the newest two are kept. A rebuild starts from the newest
/// snapshot it can read and folds only the log after it. Segments older than
/// `HOMELAB_RETENTION_DAYS`, covered by the older of the two snapshots kept, and outside the
/// de-duplication window are removed.
extension ObserverService {
    static let snapshotsKept = 2

    /// Rebuilds `world/` from the newest usable snapshot and the log after it (or the whole log).
    func rebuildWorld(reason: String) throws {
        let started = MonotonicTime.now()
        let firstSeq = log.firstSeq
        var base: WorldSnapshot?
        for (seq, path) in WorldSnapshot.list(in: root.snapshots) where seq <= log.lastSeq && seq + 1 >= firstSeq {
            if let snapshot = WorldSnapshot.read(path), snapshot.seq == seq {
                base = snapshot
                break
            }
            logger.warning("\(path) is not a whole snapshot: trying an older one")
        }
        if base == nil && firstSeq > 1 {
            throw LogError(.notAnEvent, "\(root.events): the log starts at seq \(firstSeq) (older segments were removed by retention) and no snapshot in \(root.snapshots) covers them; restore a snapshot")
        }
        world = base.map(World.init) ?? World()
        if let base { lastSnapshot = (base.seq, String((base.generatedAt ?? "").prefix(10))) }
        logger.info("rebuilding world/ from \(base.map { "the snapshot at seq \($0.seq) and the log after it" } ?? "the log") (\(reason))")
        world.tracksChanges = false  // every resource is written below
        let replayed = try replay(after: world.seq, label: "rebuild")
        world.tracksChanges = true
        // The log thins heartbeats; the lastSeen they gave is kept beside it.
        ThinnedHeartbeats.read(root.thinnedHeartbeats)?.restore(into: world)
        thinnedOnDisk = ThinnedHeartbeats(of: world)
        if noteFailures(store.replaceAll(with: world)) { try writeCheckpoint() }
        let seconds = (MonotonicTime.now() - started).milliseconds / 1000
        logger.info("rebuilt world/ from \(base.map { "the snapshot at seq \($0.seq) and " } ?? "")\(replayed) events in \(String(format2: seconds)) s: \(world.resourceCount) resources")
    }

    /// The newest snapshot on disk, if none has been seen yet: when the next one is due. With
    /// none, the log's first day stands for it: the first snapshot comes once a day has ended.
    func noteSnapshotsOnDisk() {
        guard lastSnapshot == nil else { return }
        guard let (seq, path) = WorldSnapshot.list(in: root.snapshots).first else {
            lastSnapshot = (0, EventLogFiles.segments(in: root.events).first?.day ?? Timestamp.now().day)
            return
        }
        // Only the header is needed: its generatedAt says the day.
        let header = FileContents.read(path).flatMap { bytes in bytes.firstIndex(of: 0x0A).flatMap { try? JSONParser.parse(Array(bytes[..<$0])) } }
        lastSnapshot = (seq, String((header?["generatedAt"]?.string ?? "").prefix(10)))
    }

    /// After a batch: a snapshot every `snapshotEvents` events, and one on a new UTC day.
    func snapshotIfDue(now: Timestamp = .now()) {
        let since = log.lastSeq - (lastSnapshot?.seq ?? 0)
        guard since > 0, unwritten.isEmpty, since >= snapshotEvents || lastSnapshot?.day != now.day else { return }
        writeSnapshot()
    }

    /// Writes the snapshot at the log's end, keeps the newest two, then applies retention.
    func writeSnapshot() {
        let started = MonotonicTime.now()
        do throws(SystemError) {
            try makeFolder(root.snapshots)
            let snapshot = world.snapshot
            try snapshot.write(into: root.snapshots)
            lastSnapshot = (snapshot.seq, String((snapshot.generatedAt ?? "").prefix(10)))
            for (_, path) in WorldSnapshot.list(in: root.snapshots).dropFirst(Self.snapshotsKept) { unlink(path) }
            removeSnapshotTemporaries()
            status.snapshotSeq = snapshot.seq
            logger.info("snapshot at seq \(snapshot.seq): \(snapshot.resources.count) resources in \(String(format2: (MonotonicTime.now() - started).milliseconds)) ms")
        } catch {
            logger.warning("could not write a snapshot at seq \(log.lastSeq): \(error); the log is kept whole until one is written")
            return
        }
        applyRetention()
    }

    /// Removes the segments retention no longer needs (see the type's comment).
    func applyRetention(today: Timestamp = .now()) {
        guard let covered = WorldSnapshot.list(in: root.snapshots).prefix(Self.snapshotsKept).last?.seq else { return }
        let days = max(retentionDays, SeenEvents.minDays + 1)
        let cutoff = Timestamp(secondsSinceEpoch: today.secondsSinceEpoch - Int64(days) * 86_400).day
        do throws(SystemError) {
            let removed = try log.removeSegments(beforeDay: cutoff, coveredSeq: covered, keepFromSeq: log.lastSeq - seen.minKeys + 1)
            if let last = removed.last {
                status.counters.segmentsRemoved += removed.count
                logger.info("retention: removed \(removed.count) segments before \(cutoff) (events up to seq \(log.firstSeq - 1), covered by the snapshot at seq \(covered)); the log starts at seq \(log.firstSeq), in \(last.day) and after")
            }
        } catch {
            logger.warning("retention: \(error)")
        }
    }

    /// Hidden temporaries of a snapshot write cut short (a `kill -9`).
    func removeSnapshotTemporaries() {
        for entry in listDirectory(root.snapshots) where entry.name.hasPrefix(".") { unlink(root.snapshots + "/" + entry.name) }
    }

    private func makeFolder(_ path: String) throws(SystemError) {
        if mkdir(path, 0o755) != 0 && Errno.current != .fileExists { throw SystemError("mkdir", Errno.current, subject: path) }
    }
}
