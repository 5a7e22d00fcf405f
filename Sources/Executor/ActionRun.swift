#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// One action being run: its child, its output streaming into `logs/actions/ID.log`, its
/// deadline. Everything arrives through the loop: output on the pipe, the exit on a pidfd,
/// the timeout on a timer.
final class ActionRun {
    let id: String
    let resource: String
    let startedAt = Timestamp.now()
    private let began = MonotonicTime.now()
    let pid: pid_t
    let timeout: Int
    private let log: Int32
    private var tail = OutputTail()
    private var exit: ChildProcess.Exit?
    private var outputOpen = true
    private(set) var timedOut = false
    private var killedAfterGrace = false
    private var outputToken: Reactor.Token?
    private var exitToken: Reactor.Token?
    private var timers: [LoopTimer] = []
    private unowned let reactor: Reactor
    private let finished: (ActionRun, Outcome) -> Void

    struct Outcome {
        let exit: ChildProcess.Exit
        let timedOut: Bool
        /// It ignored SIGTERM and needed SIGKILL.
        let killed: Bool
        let duration: Duration
        let outputTail: String
    }

    init(id: String, resource: String, started: ChildProcess.Started, log: Int32, timeout: Int, grace: Duration,
         reactor: Reactor, finished: @escaping (ActionRun, Outcome) -> Void) throws(SystemError) {
        self.id = id
        self.resource = resource
        self.pid = started.pid
        self.timeout = timeout
        self.log = log
        self.reactor = reactor
        self.finished = finished
        outputToken = try reactor.register(FileDescriptor(owning: started.output), label: "output \(id)", interest: .readable) { [unowned self] _ in
            readOutput()
        }
        exitToken = try reactor.register(try ChildProcess.exitDescriptor(started.pid), label: "pidfd \(id)", interest: .readable) { [unowned self] _ in
            childExited()
        }
        timers.append(reactor.timer(after: .seconds(timeout)) { [unowned self] in
            timedOut = true
            ChildProcess.signalGroup(pid, SIGTERM)
            timers.append(reactor.timer(after: grace) { [unowned self] in
                killedAfterGrace = true
                ChildProcess.signalGroup(pid, SIGKILL)
            })
        })
    }

    /// Ends it now (the executor is stopping): the whole group is killed and reaped.
    func abort() {
        ChildProcess.signalGroup(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
        exit = .signaled(SIGKILL)
        outputOpen = false
        finish()
    }

    private func readOutput() {
        guard let token = outputToken, let fd = reactor.descriptor(token) else { return }
        var buffer = [UInt8](repeating: 0, count: 65536)
        // A bounded number of reads per wake-up: a chatty child cannot starve the loop.
        for _ in 0..<16 {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                let chunk = Array(buffer[0..<n])
                try? FileDescriptor.writeAll(chunk, to: log)
                tail.append(chunk)
                continue
            }
            if n < 0 && (Errno.current == .wouldBlock || Errno.current == .interrupted) { return }
            // End of output: every writer (the child and anything it started) is gone.
            reactor.close(token)
            outputToken = nil
            outputOpen = false
            if exit != nil { finish() }
            return
        }
    }

    private func childExited() {
        guard let status = ChildProcess.reap(pid) else { return }
        exit = status
        if let exitToken { reactor.close(exitToken) }
        exitToken = nil
        // Nothing it started may outlive it: its group goes too, which also ends the output.
        ChildProcess.signalGroup(pid, SIGKILL)
        if !outputOpen { finish() }
    }

    private func finish() {
        guard let exit else { return }
        for timer in timers { timer.cancel() }
        timers.removeAll()
        if let outputToken { reactor.close(outputToken) }
        if let exitToken { reactor.close(exitToken) }
        outputToken = nil
        exitToken = nil
        close(log)
        finished(self, Outcome(exit: exit, timedOut: timedOut, killed: killedAfterGrace, duration: MonotonicTime.now() - began, outputTail: tail.text))
    }
}

/// The end of an action's output (its last 4 KiB), for the action file.
struct OutputTail {
    private var bytes: [UInt8] = []
    static let limit = 4096

    mutating func append(_ chunk: [UInt8]) {
        bytes += chunk.suffix(OutputTail.limit)
        if bytes.count > OutputTail.limit { bytes.removeFirst(bytes.count - OutputTail.limit) }
    }

    /// As text, invalid UTF-8 replaced.
    var text: String { String(decoding: bytes, as: UTF8.self) }
}
