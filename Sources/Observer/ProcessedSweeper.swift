#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore
import Synchronization

/// Empties the drop folders' `.done/` on a helper thread, and only while the observer is idle:
/// an unlink costs ~350 µs on the VPS's ext4 (far more right after other deletes), and inside a
/// batch it was three quarters of the observer's time. The loop says when it is busy (a batch
/// began) and when it has been quiet for a while (`wake`); the helper stops between two
/// unlinks as soon as the loop is busy again, so it never competes with a burst for the
/// folder's lock for longer than one unlink.
///
/// Nothing here is needed for correctness: a file in `.done/` is logged, and a crash with files
/// left there only means they are swept after the restart.
final class ProcessedSweeper: Sendable {
    private let folders: [String]
    private let busy = Atomic<Bool>(true)
    private let stopping = Atomic<Bool>(false)
    private let removedCount = Atomic<Int>(0)
    /// A pipe: the helper waits on its read end (blocking), the loop writes a byte to wake it.
    private let waitFD: Int32
    private let wakeFD: Int32
    private let thread: Mutex<pthread_t?> = Mutex(nil)

    /// Files swept so far.
    var removed: Int { removedCount.load(ordering: .relaxed) }

    init(processedFolders: [String]) throws(SystemError) {
        folders = processedFolders
        var ends: [Int32] = [-1, -1]
        _ = try systemCall("pipe", "sweeper") { pipe(&ends) }
        (waitFD, wakeFD) = (ends[0], ends[1])
        for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        _ = fcntl(wakeFD, F_SETFL, O_NONBLOCK)  // the loop never blocks on it
    }

    /// Starts the helper thread, which holds the sweeper until `stop`.
    func start() throws(SystemError) {
        let handle: pthread_t
        do {
            handle = try startThread("sweeper") { self.run() }
        } catch {
            Glibc.close(wakeFD)
            Glibc.close(waitFD)
            throw error
        }
        thread.withLock { $0 = handle }
    }

    /// A batch begins: the helper stops after the unlink in hand.
    func busyNow() { busy.store(true, ordering: .relaxed) }

    /// The loop has been idle: sweep until it is busy again.
    func wake() {
        busy.store(false, ordering: .relaxed)
        poke()
    }

    private func poke() {
        var one: UInt8 = 1
        _ = write(wakeFD, &one, 1)  // a full pipe already says "wake"
    }

    /// Ends the helper (after the unlink in hand) and waits for it.
    func stop() {
        guard let handle = thread.withLock({ $0.take() }) else { return }
        stopping.store(true, ordering: .relaxed)
        busy.store(true, ordering: .relaxed)
        poke()
        pthread_join(handle, nil)
        Glibc.close(wakeFD)
        Glibc.close(waitFD)
    }

    private func run() {
        while !stopping.load(ordering: .relaxed) {
            var bytes = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
            let n = withUnsafeMutableBytes(of: &bytes) { read(waitFD, $0.baseAddress, $0.count) }
            if n < 0 && Errno.current == .interrupted { continue }
            for folder in folders {
                let swept = DropFolder.sweepProcessed(folder) { busy.load(ordering: .relaxed) || stopping.load(ordering: .relaxed) }
                removedCount.add(swept, ordering: .relaxed)
            }
        }
    }
}
