#if canImport(Glibc)
import Glibc
#endif
import FSWatch

/// One piece of start-up work on a second thread, joined before its result is used: the
/// rebuild folds the log while the de-duplication window is read back from the same log's
/// tail (a second of a million-event rebuild, on the machine's other core).
final class HelperThread: @unchecked Sendable {
    private let body: () -> Void
    private var thread: pthread_t?
    /// Whether `body` has run to its end (the loop's view, set by `join`).
    private var ran = false

    /// `body` must touch nothing the caller uses until `join` returns.
    init(_ body: @escaping () -> Void) { self.body = body }

    /// Starts `body` on its own thread; if no thread can be made, `join` runs it.
    func start() {
        thread = try? startThread("rebuild helper") { self.body() }
    }

    /// Waits for `body` to end (or runs it, if it never started).
    func join() {
        if let handle = thread.take() {
            pthread_join(handle, nil)
        } else if !ran {
            body()
        }
        ran = true
    }
}
