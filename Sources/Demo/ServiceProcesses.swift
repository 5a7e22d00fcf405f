#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// The four services as child processes of the demo, each its own `homelab SERVICE`: their
/// log lines relayed to our stderr, their ends heard through the loop, and a stop that asks
/// each with SIGTERM and kills whoever is still there after a grace period.
final class ServiceProcesses {
    private final class Child {
        let name: String
        var command: RunningCommand?
        var exit: ChildProcess.Exit?
        init(name: String) { self.name = name }
    }

    private let reactor: Reactor
    private var children: [Child] = []
    private var stopping = false
    private var whenAllExited: (() -> Void)?
    /// Hears of a service that ended while we were not stopping it.
    var unexpectedExit: (String, ChildProcess.Exit) -> Void = { _, _ in }

    init(reactor: Reactor) {
        self.reactor = reactor
    }

    func start(_ services: [String], binary: String, environment: [String: String], folder: String) throws {
        for name in services {
            let child = Child(name: name)
            children.append(child)
            child.command = try RunningCommand([binary, name], environment: environment, folder: folder, reactor: reactor,
                                               onLine: { line in try? FileDescriptor.writeAll(line + [0x0A], to: 2) },
                                               onExit: { [unowned self] exit in exited(child, exit) })
        }
    }

    var running: [String] { children.filter { $0.exit == nil }.map(\.name) }

    /// SIGTERM to each service still running; `then` runs once all have exited (after
    /// SIGKILL for any that outlast `grace`).
    func stop(grace: Duration = .seconds(5), then: @escaping () -> Void) {
        stopping = true
        whenAllExited = then
        for child in children where child.exit == nil { child.command?.terminate(grace: grace) }
        finishIfAllExited()
    }

    private func exited(_ child: Child, _ exit: ChildProcess.Exit) {
        child.exit = exit
        child.command = nil
        if !stopping { unexpectedExit(child.name, exit) }
        finishIfAllExited()
    }

    private func finishIfAllExited() {
        guard stopping, children.allSatisfy({ $0.exit != nil }), let then = whenAllExited else { return }
        whenAllExited = nil
        then()
    }
}
