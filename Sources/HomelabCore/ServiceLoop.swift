import FSWatch

/// What a service's `run()` shares: the runtime root's layout, one reactor that SIGTERM and
/// SIGINT stop (logged), the service's own start-up on it, the loop until then, and its own
/// wind-down while the reactor still stands. The reactor is shut down — every descriptor
/// closed — when this returns.
public enum ServiceLoop {
    public static func run(root: RuntimeRoot, logger: Logger, start: (Reactor) throws -> Void, stopped: () -> Void = {}) throws {
        try root.create()
        let reactor = try Reactor()
        defer { reactor.shutdown() }
        try reactor.stopOnTermination { signal in logger.info("\(Signals.name(signal)) received: stopping") }
        try start(reactor)
        try reactor.run()
        stopped()
    }
}

extension String {
    /// Without leading and trailing whitespace.
    public func trimmingWhitespace() -> String {
        var text = Substring(self)
        while let last = text.last, last.isWhitespace { text.removeLast() }
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        return String(text)
    }
}

extension Substring {
    public func trimmingWhitespace() -> String { String(self).trimmingWhitespace() }
}
