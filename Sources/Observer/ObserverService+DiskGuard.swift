#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// Why ingest is paused, and since when.
struct IngestPause {
    let since: Timestamp
    var freeMB: Int
}

/// The disk guard (docs/observer.md): below `HOMELAB_MIN_FREE_MB` free on the runtime root's
/// file system the observer takes no new files — they wait in `inbox/`, `audit/` and
/// `posted/`, nothing is lost — says so in its status (`ingest`), logs `ingest.paused`, and
/// looks again once a second until there is room, then logs `ingest.resumed` and goes on.
/// While ingest runs, free space is read at most once a second, before a batch: one `statvfs`.
extension ObserverService {
    static let spaceCheckInterval = Duration.seconds(1)

    /// Free bytes for unprivileged writers on the root's file system; nil if it cannot be read.
    /// The corresponding C function is `statvfs`.
    static func freeBytes(_ path: String) -> Int? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        return Int(info.f_bavail) * Int(info.f_frsize)
    }

    /// Whether a batch may run now; pauses ingest when it may not.
    func spaceAllowsIngest() -> Bool {
        if paused != nil { return false }
        guard minFreeMB > 0 else { return true }
        let now = MonotonicTime.now()
        if let last = lastSpaceCheck, now - last < Self.spaceCheckInterval { return true }
        lastSpaceCheck = now
        guard let free = Self.freeBytes(root.path), free < minFreeMB << 20 else { return true }
        pause(freeMB: free >> 20)
        return false
    }

    private func reason(freeMB: Int) -> String {
        "free space \(freeMB) MB below HOMELAB_MIN_FREE_MB=\(minFreeMB)"
    }

    private func pause(freeMB: Int) {
        let pause = IngestPause(since: .now(), freeMB: freeMB)
        paused = pause
        logger.warning("ingest paused: \(reason(freeMB: freeMB)); files wait in the inbox until there is room")
        describe(pause)
        logOwn("ingest.paused", data: ["reason": .string(reason(freeMB: freeMB)), "freeMB": .int(freeMB), "minFreeMB": .int(minFreeMB)])
        if spaceTimer == nil { spaceTimer = reactor.timer(repeating: Self.spaceCheckInterval) { [unowned self] in checkPausedSpace() } }
        spaceTimer?.schedule(after: Self.spaceCheckInterval)
    }

    /// While paused, once a second: resume when there is room again.
    private func checkPausedSpace() {
        guard var pause = paused else {
            spaceTimer?.cancel()
            return
        }
        let free = Self.freeBytes(root.path) ?? 0
        guard free >= minFreeMB << 20 else {
            if free >> 20 != pause.freeMB {
                pause.freeMB = free >> 20
                paused = pause
                describe(pause)
            }
            return
        }
        spaceTimer?.cancel()
        paused = nil
        lastSpaceCheck = MonotonicTime.now()
        let seconds = pause.since.seconds(until: .now())
        logger.info("ingest resumed: \(free >> 20) MB free (HOMELAB_MIN_FREE_MB=\(minFreeMB)) after \(String(format2: seconds)) s; \(queue.count) files waiting")
        status.ingest = ["paused": .bool(false), "freeMB": .int(free >> 20), "minFreeMB": .int(minFreeMB)]
        publishStatus()
        logOwn("ingest.resumed", data: ["freeMB": .int(free >> 20), "minFreeMB": .int(minFreeMB), "pausedSeconds": .number(String(format2: seconds))])
        scheduleBatch()
    }

    private func describe(_ pause: IngestPause) {
        status.ingest = [
            "paused": .bool(true), "reason": .string(reason(freeMB: pause.freeMB)), "freeMB": .int(pause.freeMB),
            "minFreeMB": .int(minFreeMB), "since": .string(pause.since.iso8601Milliseconds),
        ]
        publishStatus()
    }

    /// Logs one of the observer's own events (source `observer`) at once, as a batch of one.
    /// A log that cannot be written stops the observer, as a batch's would.
    func logOwn(_ type: String, data: JSONObject) {
        let bytes = JSONWriter.encode(.object([
            "type": .string(type), "source": .string(Self.service), "id": .string("\(type)-\(Digest.randomHex(bytes: 8))"),
            "subject": .string("service/\(Self.service)"), "data": .object(data),
        ]))
        guard case .success(let event) = EventValidation.validate(bytes, from: .service) else { return }
        let now = Timestamp.now()
        let line = event.logged(seq: log.lastSeq + 1, receivedAt: now.iso8601Milliseconds)
        do {
            try log.append(line.line, firstSeq: line.seq, count: 1, day: now.day)
            try log.sync()
            seen.insert(SeenEvents.key(source: line.source, id: line.id), day: SeenEvents.day(of: now))
            world.apply(line)
            try flushWorld()
            status.record(accepted: 1, rejected: 0, at: now, duration: .zero)
        } catch {
            logger.error("could not log \(type), stopping: \(error)")
            failure = error
            reactor.stop()
        }
    }
}
