#if canImport(Glibc)
import Glibc
#endif
import FSWatch

/// One action being run: its child (a `RunningCommand`), its output streaming into
/// `logs/actions/ID.log`, its deadline. Everything arrives through the loop: output on the
/// pipe, the exit on a pidfd, the timeout on a timer. Shared by the executor and a node's
/// agent (docs/remote-actions.md), so an action runs under the same rules wherever it runs.
public final class ActionRun {
    public let id: String
    public let resource: String
    public let startedAt = Timestamp.now()
    private let began = MonotonicTime.now()
    public private(set) var pid: pid_t = 0
    public let timeout: Int
    private var log: FileDescriptor?
    private var tail = OutputTail()
    private var command: RunningCommand?
    public private(set) var timedOut = false
    private var timeoutTimer: LoopTimer?
    private let grace: Duration
    private var done = false
    private let finished: (ActionRun, Outcome) -> Void

    public struct Outcome: Sendable {
        public let exit: ChildProcess.Exit
        public let timedOut: Bool
        /// It ignored SIGTERM and needed SIGKILL.
        public let killed: Bool
        public let duration: Duration
        public let outputTail: String
    }

    /// Starts `argv` with its output appended to `log`, which the run owns (and closes) from now on,
    /// and handed to `output` as it comes (a node's agent streams it to the VPS).
    public init(id: String, resource: String, argv: [String], environment: [String: String], folder: String, log: consuming FileDescriptor,
         timeout: Int, grace: Duration, reactor: Reactor, output: ((ArraySlice<UInt8>) -> Void)? = nil,
         finished: @escaping (ActionRun, Outcome) -> Void) throws(SystemError) {
        self.id = id
        self.resource = resource
        self.timeout = timeout
        let fd = log.rawValue
        self.log = consume log
        self.grace = grace
        self.finished = finished
        do {
            // Output and exit arrive through the loop, never before this returns.
            command = try RunningCommand(argv, environment: environment, folder: folder, reactor: reactor, output: .chunks({ [unowned self] chunk in
                try? FileDescriptor.writeAll(Array(chunk), to: fd)
                tail.append(Array(chunk))
                output?(chunk)
            }), onExit: { [unowned self] exit in end(exit) })
        } catch {
            closeLog()
            throw error
        }
        pid = command?.pid ?? 0
        timeoutTimer = reactor.timer(after: .seconds(timeout)) { [unowned self] in
            timedOut = true
            command?.terminate(grace: grace)
        }
    }

    /// Asks it to end (the executor is stopping): SIGTERM, SIGKILL after the grace.
    public func interrupt() { command?.terminate(grace: grace) }

    /// Ends it now: the whole group is killed and reaped.
    public func abort() {
        command?.cancel()
        end(.signaled(SIGKILL))
    }

    private func closeLog() {
        if let log = log.take() { log.close() }
    }

    private func end(_ exit: ChildProcess.Exit) {
        guard !done else { return }
        done = true
        let killed = command?.killedAfterGrace ?? false
        command = nil
        timeoutTimer?.cancel()
        closeLog()
        finished(self, Outcome(exit: exit, timedOut: timedOut, killed: killed, duration: MonotonicTime.now() - began, outputTail: tail.text))
    }
}
