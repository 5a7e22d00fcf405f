import FSWatch

/// A daemon as the service skeleton (`ServiceRunner`) runs it: started on the loop, asked
/// what to say in its status file every heartbeat, told of SIGHUP, and stopped first when
/// the loop ends — while the loop still stands, so it can end its children through it.
public protocol Service: AnyObject {
    /// Registers what the service waits on (watches, timers, children). The loop runs once
    /// this returns; nothing may block here beyond start-up recovery.
    func start(on reactor: Reactor) throws
    /// The service's own fields in `state/SERVICE.json`, beside the skeleton's.
    var statusDetails: JSONObject { get }
    /// SIGHUP.
    func reload()
    /// The first step of the teardown: end what the service started, say what it did.
    func stop()
    /// Whether a second instance on the same root must be refused (the observer: one writer
    /// of the log; the supervisor: one proposer). Executors may run side by side: their
    /// claims make each action run once.
    var runsAlone: Bool { get }
    /// Set when the service stopped the loop because it cannot go on; `ServiceRunner.run`
    /// throws it after the teardown.
    var failure: Error? { get }
}

extension Service {
    public var statusDetails: JSONObject { [:] }
    public func reload() {}
    public var runsAlone: Bool { false }
    public func stop() {}
    public var failure: Error? { nil }
}
