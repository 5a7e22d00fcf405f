import FSWatch

/// A daemon as the service skeleton (`ServiceRunner`) runs it: started on the loop, asked
/// what to say in its status file every heartbeat, told of SIGHUP, and stopped in two
/// steps — asked while the loop still runs (so its children can end through it), then told
/// once the loop has ended.
public protocol Service: AnyObject {
    /// Registers what the service waits on (watches, timers, children). The loop runs once
    /// this returns; nothing may block here beyond start-up recovery.
    func start(on reactor: Reactor) throws
    /// The service's own fields in `state/SERVICE.json`, beside the skeleton's.
    var statusDetails: JSONObject { get }
    /// SIGHUP.
    func reload()
    /// SIGTERM or SIGINT: end what the service started, through the loop, and call `done`
    /// once that has happened (at once when there is nothing to wait for). The skeleton
    /// waits `ServiceRunner.Settings.stopTimeout` at most.
    func stop(_ done: @escaping () -> Void)
    /// The loop has ended (stopped, timed out or failed): end at once whatever is left, and
    /// say what the service did.
    func shutdown()
    /// Whether a second instance on the same root must be refused (the observer: one writer
    /// of the log; the supervisor: one proposer). Executors may run side by side: their
    /// claims make each action run once.
    var runsAlone: Bool { get }
    /// Gives the service a way to rewrite its status file at once, between heartbeats (the
    /// observer, when ingest pauses or resumes).
    func onStatusChange(_ publish: @escaping () -> Void)
    /// Set when the service stopped the loop because it cannot go on; `ServiceRunner.run`
    /// throws it after the teardown.
    var failure: Error? { get }
}

extension Service {
    public var statusDetails: JSONObject { [:] }
    public func reload() {}
    public func stop(_ done: @escaping () -> Void) { done() }
    public func shutdown() {}
    public var runsAlone: Bool { false }
    public var failure: Error? { nil }
    public func onStatusChange(_ publish: @escaping () -> Void) {}
}
