#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Stops a reactor from another thread: sets the flag, then pokes the loop's eventfd.
public struct StopHandle: Sendable {
    let wake: WakeSignal
    public func stop() { wake.requestStop() }
}

/// The loop's eventfd as other threads see it; once the loop shuts down it is disconnected,
/// so a late stop can never write into a descriptor number that has been reused.
final class WakeSignal: Sendable {
    private let state: Mutex<(fd: Int32, stop: Bool)>

    init(fd: Int32) { state = Mutex((fd: fd, stop: false)) }

    var stopRequested: Bool {
        state.withLock { state in
            defer { state.stop = false }
            return state.stop
        }
    }

    func requestStop() {
        state.withLock { state in
            state.stop = true
            guard state.fd >= 0 else { return }
            var one: UInt64 = 1
            _ = Glibc.write(state.fd, &one, 8)
        }
    }

    /// Resets the eventfd counter so it stops reporting readable.
    func drain() {
        let fd = state.withLock { $0.fd }
        var count: UInt64 = 0
        _ = Glibc.read(fd, &count, 8)
    }

    func disconnect() { state.withLock { $0.fd = -1 } }
}
