#if canImport(Glibc)
import Glibc
#endif

/// A child process read through the loop: its output (stdout and stderr on one pipe) as it
/// comes — line by line, or in the chunks the pipe gives — then its exit, reported once both
/// the pipe has ended and the process has.
public final class RunningCommand {
    /// How the output is handed over.
    public enum Output {
        /// Each line without its newline (a last unterminated one too).
        case lines(([UInt8]) -> Void)
        /// The bytes as read.
        case chunks((ArraySlice<UInt8>) -> Void)
    }

    public let pid: pid_t
    private let reactor: Reactor
    private var outputToken: Reactor.Token?
    private var exitToken: Reactor.Token?
    private var partial: [UInt8] = []
    private var exit: ChildProcess.Exit?
    private var reported = false
    private let output: Output
    private let onExit: (ChildProcess.Exit) -> Void
    private var killTimer: LoopTimer?
    /// It outlasted the grace `terminate` gave it and was sent SIGKILL.
    public private(set) var killedAfterGrace = false
    /// A longer line is dropped rather than held without bound.
    public static let maxLine = 4 << 20

    /// Starts `argv` (argv[0] a path); `onLine` gets each line without its newline.
    public convenience init(_ argv: [String], environment: [String: String], folder: String = "/", reactor: Reactor,
                            onLine: @escaping ([UInt8]) -> Void, onExit: @escaping (ChildProcess.Exit) -> Void) throws(SystemError) {
        try self.init(argv, environment: environment, folder: folder, reactor: reactor, output: .lines(onLine), onExit: onExit)
    }

    /// Starts `argv` (argv[0] a path) in a new process group of its own.
    public init(_ argv: [String], environment: [String: String], folder: String = "/", reactor: Reactor,
                output: Output, onExit: @escaping (ChildProcess.Exit) -> Void) throws(SystemError) {
        let started = try ChildProcess.spawn(argv, environment: environment, folder: folder)
        pid = started.pid
        self.reactor = reactor
        self.output = output
        self.onExit = onExit
        do {
            outputToken = try reactor.register(started.output, label: "output of \(argv[0])", interest: .readable) { [unowned self] _ in
                readOutput()
            }
            exitToken = try reactor.register(try ChildProcess.exitDescriptor(pid), label: "pidfd of \(argv[0])", interest: .readable) { [unowned self] _ in
                exited()
            }
        } catch {
            ChildProcess.signalGroup(pid, SIGKILL)
            _ = waitpid(pid, nil, 0)
            if let outputToken { reactor.close(outputToken) }
            throw error
        }
    }

    /// The one way a child is asked to end (swift-subprocess's teardown): SIGTERM to its
    /// whole group now, SIGKILL to whatever is left of the group after `grace`. Its exit is
    /// reported as usual, through the loop.
    public func terminate(grace: Duration) {
        guard !reported, killTimer == nil else { return }
        ChildProcess.signalGroup(pid, SIGTERM)
        killTimer = reactor.timer(after: grace) { [weak self] in
            guard let self, !reported else { return }
            killedAfterGrace = true
            ChildProcess.signalGroup(pid, SIGKILL)
        }
    }

    /// Ends it and whatever it started at once; its exit is not reported.
    public func cancel() {
        reported = true
        killTimer?.cancel()
        ChildProcess.signalGroup(pid, SIGKILL)
        if let exitToken {
            _ = waitpid(pid, nil, 0)
            reactor.close(exitToken)
        }
        if let outputToken { reactor.close(outputToken) }
        exitToken = nil
        outputToken = nil
    }

    private func readOutput() {
        guard let token = outputToken, let fd = reactor.descriptor(token) else { return }
        var buffer = [UInt8](repeating: 0, count: 65536)
        for _ in 0..<16 {  // a chatty child cannot starve the loop
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                switch output {
                case .lines: split(buffer[0..<n])
                case .chunks(let handler): if !reported { handler(buffer[0..<n]) }
                }
                continue
            }
            if n < 0 && (Errno.current == .wouldBlock || Errno.current == .interrupted) { return }
            if case .lines(let onLine) = output, !partial.isEmpty, !reported { onLine(partial) }
            partial = []
            reactor.close(token)
            outputToken = nil
            finish()
            return
        }
    }

    private func split(_ chunk: ArraySlice<UInt8>) {
        guard case .lines(let onLine) = output else { return }
        var start = chunk.startIndex
        while let newline = chunk[start...].firstIndex(of: 0x0A) {
            partial.append(contentsOf: chunk[start..<newline])
            let line = partial
            partial = []
            start = newline + 1
            if !reported { onLine(line) }
        }
        partial.append(contentsOf: chunk[start...])
        if partial.count > Self.maxLine { partial = [] }
    }

    private func exited() {
        guard let status = ChildProcess.reap(pid) else { return }
        exit = status
        if let exitToken { reactor.close(exitToken) }
        exitToken = nil
        ChildProcess.signalGroup(pid, SIGKILL)  // nothing it started outlives it, and the pipe ends
        finish()
    }

    private func finish() {
        guard let exit, outputToken == nil, !reported else { return }
        reported = true
        killTimer?.cancel()
        onExit(exit)
    }
}
