#if canImport(Glibc)
import Glibc
#endif
import CLinuxShim

/// Process signal masks. Signals that a loop reads through a signalfd must be blocked in
/// every thread, or the kernel delivers them the default way to whichever thread has them
/// unblocked: block them first thing in `main`, before any thread exists, and each thread
/// inherits the mask.
public enum Signals {
    public static let termination: [Int32] = [SIGTERM, SIGINT]
    public static let daemon: [Int32] = [SIGTERM, SIGINT, SIGHUP]

    /// The corresponding C function is `pthread_sigmask` with `SIG_BLOCK`.
    public static func block(_ signals: [Int32]) throws(SystemError) {
        let result = signals.withUnsafeBufferPointer { CLinuxShim_block_signals($0.baseAddress, Int32($0.count)) }
        if result != 0 { throw SystemError("pthread_sigmask", Errno(rawValue: result)) }
    }

    /// The corresponding C function is `pthread_sigmask` with `SIG_UNBLOCK`.
    public static func unblock(_ signals: [Int32]) throws(SystemError) {
        let result = signals.withUnsafeBufferPointer { CLinuxShim_unblock_signals($0.baseAddress, Int32($0.count)) }
        if result != 0 { throw SystemError("pthread_sigmask", Errno(rawValue: result)) }
    }

    public static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        case SIGHUP: "SIGHUP"
        case SIGKILL: "SIGKILL"
        case SIGCHLD: "SIGCHLD"
        case SIGPIPE: "SIGPIPE"
        default: "signal \(signal)"
        }
    }
}

extension Reactor {
    /// Delivers `signals` through the loop; they must already be blocked (see `Signals`).
    /// The corresponding C function is `signalfd`.
    @discardableResult
    public func onSignals(_ signals: [Int32], _ handler: @escaping (Int32) -> Void) throws(SystemError) -> Token {
        let fd = FileDescriptor(owning: try systemCall("signalfd") {
            signals.withUnsafeBufferPointer { CLinuxShim_signalfd($0.baseAddress, Int32($0.count)) }
        })
        let raw = fd.rawValue
        return try register(fd, label: "signals", interest: .readable) { _ in
            var sender: Int32 = 0
            while let signal = try? systemCallUnlessWouldBlock("read(signalfd)", nil, { CLinuxShim_signalfd_read(raw, &sender) }) {
                handler(signal)
            }
        }
    }

    /// SIGTERM and SIGINT end the loop after the callback in hand; `then` hears which arrived.
    @discardableResult
    public func stopOnTermination(then: @escaping (Int32) -> Void = { _ in }) throws(SystemError) -> Token {
        try onSignals(Signals.termination) { [unowned self] signal in
            then(signal)
            self.stop()
        }
    }
}
