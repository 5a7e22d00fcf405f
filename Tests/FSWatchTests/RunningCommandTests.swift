#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport
@testable import FSWatch

@Suite(.serialized, .timeLimit(.minutes(2))) struct RunningCommandTests {
    @Test func linesArriveWholeAcrossWritesAndTheExitComesLast() throws {
        let reactor = try Reactor()
        defer { reactor.shutdown() }
        var lines: [String] = []
        var exit: ChildProcess.Exit?
        var linesAtExit = 0
        let command = try RunningCommand(["/bin/sh", "-c", "printf 'one\\ntw'; sleep 0.05; printf 'o\\n\\nlast'; exit 3"],
                                         environment: ["PATH": "/usr/bin:/bin"], reactor: reactor,
                                         onLine: { lines.append(String(decoding: $0, as: UTF8.self)) },
                                         onExit: { exit = $0; linesAtExit = lines.count })
        #expect(try reactor.run(until: { exit != nil }, timeout: .seconds(5)))
        #expect(lines == ["one", "two", "", "last"])
        #expect(linesAtExit == 4)
        #expect(exit == .exited(3))
        _ = command
    }

    @Test func cancelledItEndsAtOnceAndReportsNothing() throws {
        let reactor = try Reactor()
        defer { reactor.shutdown() }
        var reported = false
        let idle = reactor.descriptorCount
        let command = try RunningCommand(["/bin/sleep", "30"], environment: [:], reactor: reactor,
                                         onLine: { _ in reported = true }, onExit: { _ in reported = true })
        let pid = command.pid
        command.cancel()
        try reactor.run(for: .milliseconds(50))
        #expect(!reported)
        #expect(kill(pid, 0) == -1 && errno == ESRCH)
        #expect(reactor.descriptorCount == idle)  // the pipe and the pidfd are closed
    }

    @Test func terminateAsksWithSigtermFirst() throws {
        let reactor = try Reactor()
        defer { reactor.shutdown() }
        var lines: [String] = []
        var exit: ChildProcess.Exit?
        let command = try RunningCommand(["/bin/sh", "-c", "trap 'echo term; exit 4' TERM; echo ready; while :; do sleep 0.05; done"],
                                         environment: ["PATH": "/usr/bin:/bin"], reactor: reactor,
                                         onLine: { lines.append(String(decoding: $0, as: UTF8.self)) }, onExit: { exit = $0 })
        #expect(try reactor.run(until: { lines == ["ready"] }, timeout: .seconds(5)))
        command.terminate(grace: .seconds(30))
        #expect(try reactor.run(until: { exit != nil }, timeout: .seconds(10)))
        // (sh may say "Terminated" of the sleep that got the same SIGTERM first.)
        #expect(exit == .exited(4) && lines.first == "ready" && lines.last == "term", "\(String(describing: exit)) \(lines)")
        #expect(!command.killedAfterGrace)
    }

    @Test func terminateKillsTheWholeGroupAfterTheGrace() throws {
        let reactor = try Reactor()
        defer { reactor.shutdown() }
        var exit: ChildProcess.Exit?
        var ready = false
        // Ignores SIGTERM, and leaves a grandchild that would hold the pipe open.
        let command = try RunningCommand(["/bin/sh", "-c", "trap '' TERM; sleep 60 & echo ready; wait"],
                                         environment: ["PATH": "/usr/bin:/bin"], reactor: reactor,
                                         onLine: { _ in ready = true }, onExit: { exit = $0 })
        let group = command.pid
        #expect(try reactor.run(until: { ready }, timeout: .seconds(5)))
        command.terminate(grace: .milliseconds(200))
        #expect(try reactor.run(until: { exit != nil }, timeout: .seconds(10)))
        #expect(exit == .signaled(SIGKILL) && command.killedAfterGrace)
        #expect(!groupAlive(group), "a process of the group outlived it")
    }

    @Test func aMissingProgramIsAnErrorNamingIt() throws {
        let reactor = try Reactor()
        defer { reactor.shutdown() }
        #expect(throws: SystemError.self) {
            _ = try RunningCommand(["/nonexistent/docker", "events"], environment: [:], reactor: reactor, onLine: { _ in }, onExit: { _ in })
        }
    }
}
