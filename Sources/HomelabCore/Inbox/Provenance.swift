/// Who dropped an event: anyone who may write `inbox/`, or the control plane's own services
/// through `audit/`, which only they write. Only the services speak for actions (SPEC §6):
/// an `action.*` event from anyone else would forge the audit trail (an approval by anyone,
/// a proposal nobody made).
public enum Provenance: Sendable {
    case producer
    case service

    /// Why an event of this provenance is refused, if it is.
    public func refusal(of event: InboxEvent) -> Rejection? {
        guard self == .producer, event.type.hasPrefix("action.") else { return nil }
        return Rejection("\(event.type) events come only from the control plane's services, not from the inbox")
    }
}
