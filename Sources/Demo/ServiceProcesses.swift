#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// The four services as child processes of the demo, each its own `homelab SERVICE`: their
/// log lines relayed to our stderr, their ends learned through pidfds, and a stop that asks
/// each with SIGTERM and kills whoever is still there after a grace period.
final class ServiceProcesses {
    private final class Child {
        let name: String
        let pid: pid_t
        var outputToken: Reactor.Token?
        var exitToken: Reactor.Token?
        var exit: ChildProcess.Exit?
        init(name: String, pid: pid_t) { self.name = name; self.pid = pid }
    }

    private let reactor: Reactor
    private var children: [Child] = []
    private var stopping = false
    private var whenAllExited: (() -> Void)?
    private var killTimer: LoopTimer?
    /// Hears of a service that ended while we were not stopping it.
    var unexpectedExit: (String, ChildProcess.Exit) -> Void = { _, _ in }

    init(reactor: Reactor) {
        self.reactor = reactor
    }

    func start(_ services: [String], binary: String, environment: [String: String], folder: String) throws {
        for name in services {
            let started = try ChildProcess.spawn([binary, name], environment: environment, folder: folder)
            let child = Child(name: name, pid: started.pid)
            children.append(child)
            child.outputToken = try reactor.register(FileDescriptor(owning: started.output), label: "\(name) output", interest: .readable) { [unowned self] _ in
                relayOutput(child)
            }
            child.exitToken = try reactor.register(try ChildProcess.exitDescriptor(started.pid), label: "\(name) pidfd", interest: .readable) { [unowned self] _ in
                exited(child)
            }
        }
    }

    var running: [String] { children.filter { $0.exit == nil }.map(\.name) }

    /// SIGTERM to each service still running; `then` runs once all have exited (after
    /// SIGKILL for any that outlast `grace`).
    func stop(grace: Duration = .seconds(5), then: @escaping () -> Void) {
        stopping = true
        whenAllExited = then
        for child in children where child.exit == nil { ChildProcess.signalGroup(child.pid, SIGTERM) }
        killTimer = reactor.timer(after: grace) { [unowned self] in
            for child in children where child.exit == nil { ChildProcess.signalGroup(child.pid, SIGKILL) }
        }
        finishIfAllExited()
    }

    private func relayOutput(_ child: Child) {
        guard let token = child.outputToken, let fd = reactor.descriptor(token) else { return }
        var buffer = [UInt8](repeating: 0, count: 16384)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n > 0 {
            try? FileDescriptor.writeAll(Array(buffer[0..<n]), to: 2)
        } else if n == 0 || (Errno.current != .wouldBlock && Errno.current != .interrupted) {
            reactor.close(token)
            child.outputToken = nil
        }
    }

    private func exited(_ child: Child) {
        guard let status = ChildProcess.reap(child.pid) else { return }
        child.exit = status
        if let token = child.exitToken { reactor.close(token) }
        child.exitToken = nil
        if !stopping { unexpectedExit(child.name, status) }
        finishIfAllExited()
    }

    private func finishIfAllExited() {
        guard stopping, children.allSatisfy({ $0.exit != nil }), let then = whenAllExited else { return }
        whenAllExited = nil
        killTimer?.cancel()
        // Their last words: drain what is left in each pipe before the loop closes them.
        for child in children where child.outputToken != nil { relayOutput(child) }
        then()
    }
}
