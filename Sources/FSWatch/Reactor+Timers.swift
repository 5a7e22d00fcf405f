#if canImport(Glibc)
import Glibc
#endif
import CLinuxShim

/// A deadline on the loop's monotonic clock: one-shot, or repeating every `interval`.
/// All timers share one timerfd armed at the earliest deadline, so they fire in deadline
/// order (ties in the order they were scheduled) and an idle loop sleeps until the next one.
public final class LoopTimer {
    public fileprivate(set) var deadline: MonotonicTime?
    public let interval: Duration?
    fileprivate let handler: () -> Void
    private weak var reactor: Reactor?

    fileprivate init(reactor: Reactor, interval: Duration?, handler: @escaping () -> Void) {
        precondition(interval.map { $0 > .zero } ?? true, "a repeating timer needs a positive interval")
        self.reactor = reactor
        self.interval = interval
        self.handler = handler
    }

    /// Sets the deadline, or moves it if one was set.
    public func schedule(at deadline: MonotonicTime) {
        reactor?.unqueue(self)
        self.deadline = deadline
        reactor?.enqueue(self)
    }

    public func schedule(after delay: Duration) { schedule(at: .now() + delay) }

    public func cancel() {
        reactor?.unqueue(self)
        deadline = nil
    }

    public var isScheduled: Bool { deadline != nil }
}

extension Reactor {
    /// A timer that fires `delay` from now, and then every `interval` when repeating.
    @discardableResult
    public func timer(after delay: Duration, repeating interval: Duration? = nil, _ handler: @escaping () -> Void) -> LoopTimer {
        let timer = LoopTimer(reactor: self, interval: interval, handler: handler)
        timer.schedule(after: delay)
        return timer
    }

    /// A timer with no deadline yet; `schedule` arms it.
    public func timer(repeating interval: Duration? = nil, _ handler: @escaping () -> Void) -> LoopTimer {
        LoopTimer(reactor: self, interval: interval, handler: handler)
    }

    fileprivate func enqueue(_ timer: LoopTimer) {
        guard let deadline = timer.deadline else { return }
        // Insert after every timer due at or before it: equal deadlines keep scheduling order.
        var low = 0, high = timerQueue.count
        while low < high {
            let mid = (low + high) / 2
            if timerQueue[mid].deadline! <= deadline { low = mid + 1 } else { high = mid }
        }
        timerQueue.insert(timer, at: low)
    }

    fileprivate func unqueue(_ timer: LoopTimer) {
        guard timer.deadline != nil, let index = timerQueue.firstIndex(where: { $0 === timer }) else { return }
        timerQueue.remove(at: index)
    }

    /// Points the timerfd at the earliest deadline if that changed since it was last armed,
    /// so moving deadlines around inside callbacks costs one syscall per loop turn at most.
    /// The corresponding C function is `timerfd_settime`.
    func armTimerFD() throws(SystemError) {
        let earliest = timerQueue.first?.deadline
        guard earliest != armedDeadline else { return }
        if timerFD < 0 {
            guard earliest != nil else { return }
            try openTimerFD()
        }
        // An absolute time of 0 would disarm it; a deadline in the past fires at once.
        let nanoseconds = earliest.map { max($0.nanoseconds, 1) } ?? 0
        let fd = timerFD
        try systemCall("timerfd_settime") {
            CLinuxShim_timerfd_set_absolute(fd, nanoseconds / 1_000_000_000, nanoseconds % 1_000_000_000)
        }
        armedDeadline = earliest
    }

    private func openTimerFD() throws(SystemError) {
        let fd = FileDescriptor(owning: try systemCall("timerfd_create") { CLinuxShim_timerfd_create() })
        let raw = fd.rawValue
        try register(fd, label: "timers", interest: .readable) { [unowned self] _ in
            var expirations: UInt64 = 0
            _ = Glibc.read(raw, &expirations, 8)
            self.armedDeadline = nil
            self.fireDueTimers()
        }
        timerFD = raw
    }

    private func fireDueTimers() {
        let now = MonotonicTime.now()
        while !stopRequested, let first = timerQueue.first, let deadline = first.deadline, deadline <= now {
            timerQueue.removeFirst()
            first.deadline = nil
            if let interval = first.interval {
                // After a stall, fire once and carry on from now rather than in a burst.
                let next = deadline + interval
                first.schedule(at: next > now ? next : now + interval)
            }
            first.handler()
        }
    }
}
