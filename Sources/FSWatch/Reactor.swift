#if canImport(Glibc)
import Glibc
#endif
import CLinuxShim

/// One single-threaded epoll loop: every descriptor a daemon waits on is registered here,
/// owned here, and closed here exactly once (removed from epoll first).
///
/// Callbacks run on the thread that calls `run()`; none may block. A stop request — from a
/// callback, from SIGTERM through `stopOnTermination()`, or from another thread through
/// `stopHandle` — ends the loop after the callback in hand.
public final class Reactor {
    /// Names one registration; never reused within a reactor.
    public struct Token: Hashable, Sendable, CustomStringConvertible {
        let rawValue: UInt64
        public var description: String { "#\(rawValue)" }
    }

    final class Source {
        let fd: Int32
        let label: String
        var interest: Interest
        let handler: (Readiness) -> Void
        init(fd: Int32, label: String, interest: Interest, handler: @escaping (Readiness) -> Void) {
            self.fd = fd
            self.label = label
            self.interest = interest
            self.handler = handler
        }
    }

    private var epoll: Int32
    private var sources: [UInt64: Source] = [:]
    private var nextToken: UInt64 = 1
    private(set) var stopRequested = false
    private var deferred: [() -> Void] = []
    private let wake: WakeSignal
    private let readyTokens = UnsafeMutablePointer<UInt64>.allocate(capacity: 256)
    private let readyFlags = UnsafeMutablePointer<UInt32>.allocate(capacity: 256)

    // Timers: one timerfd (registered among the sources) armed at the earliest deadline.
    var timerQueue: [LoopTimer] = []
    var timerFD: Int32 = -1
    var armedDeadline: MonotonicTime?

    public init() throws(SystemError) {
        let epollFD = try Epoll.create()
        let eventFD: FileDescriptor
        do {
            eventFD = FileDescriptor(owning: try systemCall("eventfd") { CLinuxShim_eventfd() })
        } catch {
            epollFD.close()
            throw error
        }
        epoll = epollFD.release()
        wake = WakeSignal(fd: eventFD.rawValue)
        let wake = self.wake
        do {
            _ = try register(eventFD, label: "wake", interest: .readable) { [unowned self] _ in
                wake.drain()
                if wake.stopRequested { self.stop() }
            }
        } catch {
            // Leaves epoll at -1: the deinit, which runs for an init that throws this late,
            // must not close the number again.
            shutdown()
            throw error
        }
    }

    deinit {
        shutdown()
        readyTokens.deallocate()
        readyFlags.deallocate()
    }

    /// Hands `fd` to the loop, which owns it from now on (and closes it if this fails).
    /// The corresponding C function is `epoll_ctl` with `EPOLL_CTL_ADD`.
    @discardableResult
    public func register(
        _ fd: consuming FileDescriptor, label: String, interest: Interest,
        handler: @escaping (Readiness) -> Void
    ) throws(SystemError) -> Token {
        let token = Token(rawValue: nextToken)
        nextToken += 1
        do {
            try Epoll.add(epoll, fd.rawValue, interest, token: token.rawValue)
        } catch {
            fd.close()
            throw error
        }
        sources[token.rawValue] = Source(fd: fd.release(), label: label, interest: interest, handler: handler)
        return token
    }

    /// The raw descriptor behind `token`, borrowed for reads and writes; the loop still owns it.
    public func descriptor(_ token: Token) -> Int32? { sources[token.rawValue]?.fd }

    /// Changes what `token` is waited on for; an empty set parks it.
    public func setInterest(_ interest: Interest, for token: Token) throws(SystemError) {
        guard let source = sources[token.rawValue], source.interest != interest else { return }
        try Epoll.modify(epoll, source.fd, interest, token: token.rawValue)
        source.interest = interest
    }

    /// Removes the registration from epoll, then closes its descriptor. Closing a token
    /// twice is harmless; a pending readiness for it is dropped.
    public func close(_ token: Token) {
        guard let source = sources.removeValue(forKey: token.rawValue) else { return }
        try? Epoll.remove(epoll, source.fd)
        _ = Glibc.close(source.fd)
    }

    /// How many descriptors the loop owns, its own epoll and eventfd included.
    public var descriptorCount: Int { epoll < 0 ? 0 : sources.count + 1 }

    /// Runs `body` on the loop before it next waits — how a component delivers work
    /// (an initial scan, say) once its caller has finished setting it up.
    public func runSoon(_ body: @escaping () -> Void) { deferred.append(body) }

    /// Asks the loop to end after the callback in hand.
    public func stop() { stopRequested = true }
    /// A handle any thread may use to stop this loop.
    public var stopHandle: StopHandle { StopHandle(wake: wake) }

    /// Runs callbacks until a stop is requested.
    public func run() throws(SystemError) {
        defer { stopRequested = false }
        while !stopRequested { _ = try runOnce() }
    }

    /// Turns the loop until `condition` holds or `timeout` passes; returns whether it held.
    /// For tools and tests that wait for an outcome; a daemon uses `run()`.
    @discardableResult
    public func run(until condition: () -> Bool, timeout: Duration) throws(SystemError) -> Bool {
        let deadline = MonotonicTime.now() + timeout
        while !condition() {
            let left = deadline - MonotonicTime.now()
            if left <= .zero { return false }
            try runOnce(timeout: min(left, .milliseconds(10)))
        }
        return true
    }

    /// Turns the loop for `duration`.
    public func run(for duration: Duration) throws(SystemError) {
        _ = try run(until: { false }, timeout: duration)
    }

    /// How many times the loop has woken up: an idle loop's count does not move.
    public private(set) var turns = 0

    /// Waits once (at most `timeout`, forever when nil) and runs the callbacks that are due.
    /// Returns how many descriptors were ready.
    @discardableResult
    public func runOnce(timeout: Duration? = nil) throws(SystemError) -> Int {
        runDeferred()
        if stopRequested { return 0 }
        try armTimerFD()
        var milliseconds: Int32 = -1
        if !deferred.isEmpty {
            milliseconds = 0
        } else if let timeout {
            milliseconds = Int32(clamping: (timeout.nanoseconds + 999_999) / 1_000_000)
        }
        let count = try Epoll.wait(epoll, tokens: readyTokens, flags: readyFlags, max: 256, timeoutMilliseconds: milliseconds)
        turns += 1
        for index in 0..<count {
            if stopRequested { break }
            // A callback earlier in this batch may have closed this one.
            guard let source = sources[readyTokens[index]] else { continue }
            source.handler(Readiness(rawValue: readyFlags[index]))
        }
        return count
    }

    /// Runs what was deferred before this turn; what those calls defer waits for the next
    /// turn, after the loop has polled its descriptors — so a consumer working through a
    /// backlog one `runSoon` at a time still reads its inotify queue between steps.
    private func runDeferred() {
        let due = deferred
        deferred.removeAll()
        for body in due where !stopRequested { body() }
    }

    /// Closes every descriptor the loop owns, each removed from epoll first. Idempotent.
    public func shutdown() {
        guard epoll >= 0 else { return }
        wake.disconnect()
        for token in sources.keys.sorted() { close(Token(rawValue: token)) }
        timerQueue.removeAll()
        timerFD = -1  // it was one of the sources
        armedDeadline = nil
        _ = Glibc.close(epoll)
        epoll = -1
        deferred.removeAll()
    }
}
