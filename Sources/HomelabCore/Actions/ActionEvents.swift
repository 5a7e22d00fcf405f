import FSWatch

/// The `action.*` events (SPEC §6) the services emit about the actions they handle — the
/// audit trail folded into `world/action/ID.json`: subject `action/ID`, data with the actor.
/// They go into `audit/`, the services' own inbox: the observer refuses them from `inbox/`.
public struct ActionEvents: Sendable {
    public enum Step: String, Sendable {
        case proposed, approved, rejected, superseded, started, succeeded, failed
        /// The supervisor's check after `succeeded` (SPEC §12): the drift went, or stayed.
        case verified, unverified
    }

    public let inbox: InboxWriter

    /// `durability` as `InboxWriter`'s: the supervisor's events are derived again after a
    /// crash and need none; the others are the only record of what happened.
    public init(root: RuntimeRoot, source: String, durability: AtomicFile.Durability = .file) {
        inbox = InboxWriter(inbox: root.audit, source: source, durability: durability)
    }

    public func emit(_ step: Step, id: String, actor: String, _ data: JSONObject = [:], eventID: String = Digest.randomHex()) throws(SystemError) {
        try inbox.drop(event(step, id: id, actor: actor, data, eventID: eventID))
    }

    /// The event's bytes.
    public func event(_ step: Step, id: String, actor: String, _ data: JSONObject = [:], eventID: String = Digest.randomHex()) -> [UInt8] {
        var body: JSONObject = ["actor": .string(actor)]
        body.members.append(contentsOf: data.members.filter { $0.key != "actor" })
        return inbox.event(type: "action." + step.rawValue, subject: "action/" + id, data: .object(body), id: eventID)
    }

    /// `emit`, with a failure logged rather than thrown: for services whose action already
    /// happened and is recorded in its file, where a lost event is a gap in the audit, not a
    /// reason to stop.
    public func emit(_ step: Step, id: String, actor: String, _ data: JSONObject = [:], eventID: String = Digest.randomHex(), logger: Logger) {
        do {
            try emit(step, id: id, actor: actor, data, eventID: eventID)
        } catch {
            logger.warning("could not emit action.\(step.rawValue) for \(id): \(error)")
        }
    }
}
