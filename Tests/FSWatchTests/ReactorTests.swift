#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport
@testable import FSWatch

@Suite(.serialized, .timeLimit(.minutes(2))) struct ReactorTests {
    @Test func timersFireInDeadlineOrderAndHonourMovedDeadlines() throws {
        let reactor = try Reactor()
        var fired: [String] = []
        var late: [String] = []
        func timer(_ name: String, _ milliseconds: Int) -> LoopTimer {
            let timer = reactor.timer(repeating: nil) {}
            let deadline = MonotonicTime.now() + .milliseconds(milliseconds)
            let recorder = reactor.timer {
                if MonotonicTime.now() < deadline { late.append(name) }
                fired.append(name)
            }
            recorder.schedule(at: deadline)
            _ = timer
            return recorder
        }
        _ = timer("c", 60)
        _ = timer("a", 20)
        _ = timer("b", 40)
        let moved = reactor.timer { fired.append("moved") }
        moved.schedule(after: .milliseconds(10))
        moved.schedule(after: .milliseconds(80))  // pushed back past everything else
        let pulled = reactor.timer { fired.append("pulled") }
        pulled.schedule(after: .seconds(30))
        pulled.schedule(after: .milliseconds(30))  // brought forward
        let cancelled = reactor.timer(after: .milliseconds(5)) { fired.append("cancelled") }
        cancelled.cancel()
        #expect(try runLoop(reactor) { fired.count == 5 })
        try runLoop(reactor, for: .milliseconds(30))
        #expect(fired == ["a", "pulled", "b", "c", "moved"])
        #expect(late.isEmpty, "fired before their deadline: \(late)")
        #expect(!moved.isScheduled)
    }

    @Test func repeatingTimerRepeatsUntilCancelled() throws {
        let reactor = try Reactor()
        var ticks = 0
        var timer: LoopTimer?
        timer = reactor.timer(after: .milliseconds(5), repeating: .milliseconds(5)) {
            ticks += 1
            if ticks == 3 { timer?.cancel() }
        }
        #expect(try runLoop(reactor) { ticks == 3 })
        try runLoop(reactor, for: .milliseconds(40))
        #expect(ticks == 3)
    }

    @Test func readAndWriteInterestOnAPipe() throws {
        let reactor = try Reactor()
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        var received: [UInt8] = []
        var writable = 0
        let reader = try reactor.register(FileDescriptor(owning: ends[0]), label: "read end", interest: .readable) { readiness in
            var buffer = [UInt8](repeating: 0, count: 64)
            let n = read(ends[0], &buffer, 64)
            if n > 0 { received += buffer[0..<n] }
        }
        var writer: Reactor.Token!
        writer = try reactor.register(FileDescriptor(owning: ends[1]), label: "write end", interest: .writable) { _ in
            writable += 1
            _ = write(ends[1], "ping", 4)
            try? reactor.setInterest([], for: writer)  // parked: no more writable callbacks
        }
        #expect(try runLoop(reactor) { received == Array("ping".utf8) })
        try runLoop(reactor, for: .milliseconds(30))
        #expect(writable == 1)
        reactor.close(reader)
        reactor.close(writer)
        reactor.close(writer)  // twice is harmless
    }

    @Test func stopEndsTheLoopAfterTheCurrentCallback() throws {
        let reactor = try Reactor()
        var calls = 0
        for _ in 0..<3 {
            var ends: [Int32] = [0, 0]
            #expect(pipe(&ends) == 0)
            _ = write(ends[1], "x", 1)
            close(ends[1])
            try reactor.register(FileDescriptor(owning: ends[0]), label: "ready pipe", interest: .readable) { _ in
                calls += 1
                reactor.stop()
            }
        }
        try reactor.run()
        #expect(calls == 1, "the loop ran \(calls) callbacks after a stop")
    }

    @Test func stopHandleStopsTheLoopFromAnotherThread() throws {
        let reactor = try Reactor()
        let handle = reactor.stopHandle
        let started = MonotonicTime.now()
        Thread.detachNewThread {
            usleep(50_000)
            handle.stop()
        }
        try reactor.run()
        #expect(MonotonicTime.now() - started >= .milliseconds(45))
        reactor.shutdown()
        handle.stop()  // after shutdown: a no-op, never a write into a reused descriptor
    }

    @Test func sigtermArrivesThroughTheLoop() throws {
        try Signals.block([SIGTERM])
        defer { try? Signals.unblock([SIGTERM]) }
        let reactor = try Reactor()
        var received: [Int32] = []
        try reactor.stopOnTermination { received.append($0) }
        reactor.timer(after: .milliseconds(20)) {
            // To this thread only: the test runner's other threads do not block SIGTERM.
            _ = pthread_kill(pthread_self(), SIGTERM)
        }
        let watchdog = reactor.timer(after: .seconds(5)) { Issue.record("SIGTERM never arrived") ; reactor.stop() }
        try reactor.run()
        #expect(received == [SIGTERM])
        watchdog.cancel()
    }

    @Test func noDescriptorLeaksAfterTeardown() throws {
        let before = openDescriptorCount()
        do {
            let folder = TemporaryFolder()
            makeFolder(folder.path + "/sub")
            try Signals.block([SIGHUP])
            defer { try? Signals.unblock([SIGHUP]) }
            let reactor = try Reactor()
            let watch = try DirectoryWatch(reactor: reactor, root: folder.path, options: [.recursive, .appends]) { _ in }
            try reactor.onSignals([SIGHUP]) { _ in }
            var ends: [Int32] = [0, 0]
            _ = pipe(&ends)
            try reactor.register(FileDescriptor(owning: ends[0]), label: "r", interest: .readable) { _ in }
            try reactor.register(FileDescriptor(owning: ends[1]), label: "w", interest: .writable) { _ in }
            var fired = false
            reactor.timer(after: .milliseconds(5)) { fired = true }
            #expect(try runLoop(reactor) { fired })
            #expect(openDescriptorCount() > before)
            #expect(reactor.descriptorCount == 7)  // epoll, eventfd, inotify, signalfd, 2 pipe ends, timerfd
            watch.close()
            reactor.shutdown()
            #expect(openDescriptorCount() == before)
        }
        do {
            // Dropping the reactor without an explicit shutdown closes everything too.
            let reactor = try Reactor()
            reactor.timer(after: .seconds(1)) {}
            try reactor.runOnce(timeout: .zero)
            _ = try DirectoryWatch(reactor: reactor, root: "/tmp") { _ in }
        }
        #expect(openDescriptorCount() == before)
    }

    @Test func failedCallsReportTheCallThePathAndTheErrno() {
        #expect {
            _ = try FileDescriptor.open("/nonexistent/file.json", O_RDONLY)
        } throws: { error in
            "\(error)" == "open /nonexistent/file.json: No such file or directory (ENOENT)"
        }
    }

    @Test func aMalformedAddressIsRefusedWithoutAnErrno() {
        #expect { _ = try Socket.listen("127.0.0.1") } throws: { ($0 as? AddressError)?.code == .notHostAndPort }
        #expect { _ = try Socket.listen("localhost:80") } throws: { ($0 as? AddressError)?.code == .notIPv4 }
    }
}
