#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// The file work that follows a batch's `fdatasync`, on a helper thread while the loop reads
/// the next batch: moving the batch's files out of their folders (the rename into `.done/`,
/// ~11 µs each on this VM's ext4, was a quarter of the observer's time in a backlog) and, when
/// a flush is due in the middle of a burst, writing the world files the loop prepared
/// (`WorldStore.prepare`: the bytes, taken from the fold as it was). The machine has two cores.
/// When nothing more is waiting the loop does the same work itself (`runHere`): there is
/// nothing to overlap, and a lone event's files are then done within its batch.
///
/// The order of SPEC §4.3 holds: a job is handed over only after the batch's `fdatasync`, so a
/// file leaves its folder only once its line is durable; each job ends with one `fsync` of
/// every folder it touched. One job at a time: handing over the next waits for the one before,
/// so the loop is never more than one batch ahead, and world writes land in order. The
/// checkpoint only covers batches whose files are all out (`through`) and a world whose write
/// has finished whole (`onWorldWritten`): a crash in between leaves logged files in the inbox,
/// which the restart takes as duplicates (as after any crash between the `fdatasync` and the
/// renames), and a world behind the log, which the restart folds forward.
///
/// All state but the job slot is the loop's; the two semaphores order the slot's hand-over.
final class CommitThread: @unchecked Sendable {
    /// The files of one batch, the folders to fsync once they are moved, and the world files
    /// to write (as of `worldSeq`), if a flush is due.
    struct Job {
        var files: [(folder: DropFolder, name: String)] = []
        var folders: [DropFolder] = []
        var world: WorldStore.Writes?
        var worldSeq = 0
        var isEmpty: Bool { files.isEmpty && folders.isEmpty && world == nil }

        func run(_ store: WorldStore) -> Outcome {
            var outcome = Outcome(worldSeq: worldSeq)
            if let world { outcome.world = store.perform(world) }
            for (folder, name) in files where !folder.retire(name) && Errno.current != .noSuchFile {
                outcome.failed.append((folder.path + "/" + name, Errno.current))
            }
            for folder in folders {
                do throws(SystemError) { try folder.sync() } catch {
                    outcome.error = error
                    break
                }
            }
            return outcome
        }
    }

    /// The renames that failed, the first error of a sync (which makes the batch's commit
    /// fail), and what the world write could not write.
    struct Outcome {
        var failed: [(path: String, errno: Errno)] = []
        var error: SystemError?
        var world: WorldStore.Failures?
        var worldSeq: Int
    }

    /// The seq through which every handed job is done (the loop's view).
    private(set) var through = 0
    /// The seq of the job in hand, if one is.
    private var inFlight: Int?
    private var job = Job()
    private var result = Outcome(worldSeq: 0)
    private var stopping = false
    private let ready = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
    private let done = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
    private var thread: pthread_t?
    private let store: WorldStore
    private let warn: (String) -> Void
    /// Told on the loop once a job's world write is over: what failed, and the seq it was of.
    var onWorldWritten: (WorldStore.Failures, Int) -> Void = { _, _ in }

    init(store: WorldStore, warn: @escaping (String) -> Void) {
        self.store = store
        self.warn = warn
        sem_init(ready, 0, 0)
        sem_init(done, 0, 0)
    }

    deinit {
        sem_destroy(ready)
        sem_destroy(done)
        ready.deallocate()
        done.deallocate()
    }

    /// Whether a job is in hand: then the checkpoint may say no more than `through`.
    var isBusy: Bool { inFlight != nil }

    func start() throws(SystemError) {
        thread = try startThread("commit thread") { self.run() }
    }

    /// Hands over the work of the batch ending at `seq` (its log lines durable), once the job
    /// before it is done.
    func hand(_ next: Job, through seq: Int) throws(SystemError) {
        try wait()
        guard thread != nil else {
            try finish(next.run(store), seq: seq)
            return
        }
        job = next
        inFlight = seq
        sem_post(ready)
    }

    /// Does the work of the batch ending at `seq` on this thread (nothing else to overlap).
    func runHere(_ next: Job, through seq: Int) throws(SystemError) {
        try wait()
        try finish(next.run(store), seq: seq)
    }

    /// Waits until the job in hand is done; throws its sync's error.
    func wait() throws(SystemError) {
        guard let seq = inFlight else { return }
        while sem_wait(done) != 0 && errno == EINTR {}
        inFlight = nil
        try finish(result, seq: seq)
    }

    private func finish(_ outcome: Outcome, seq: Int) throws(SystemError) {
        if let failures = outcome.world { onWorldWritten(failures, outcome.worldSeq) }
        for (path, errno) in outcome.failed { warn("could not remove \(path): \(errno)") }
        if let error = outcome.error { throw error }
        through = max(through, seq)
    }

    /// Ends the helper after the job in hand.
    func stop() {
        guard let handle = thread.take() else { return }
        try? wait()
        stopping = true
        sem_post(ready)
        pthread_join(handle, nil)
    }

    private func run() {
        while true {
            while sem_wait(ready) != 0 && errno == EINTR {}
            if stopping { return }
            result = job.run(store)
            job = Job()
            sem_post(done)
        }
    }
}
