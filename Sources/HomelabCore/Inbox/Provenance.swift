/// Who dropped an event: anyone who may write `inbox/`, the control plane's own services
/// through `audit/`, which only they write, or one node's agent (its token, or the agent's own
/// inbox on that node). Only the services speak for actions (SPEC §6): an `action.*` event
/// from anyone else would forge the audit trail (an approval by anyone, a proposal nobody
/// made). A node speaks only for itself (SPEC §11): a compromised Pi cannot report the NAS.
public enum Provenance: Sendable, Equatable, CustomStringConvertible {
    case producer
    case service
    case node(String)

    /// Why an event of this provenance is refused, if it is.
    public func refusal(of event: InboxEvent) -> Rejection? {
        forbiddenType(event) ?? trespass(event)
    }

    /// Only the services speak for actions.
    public func forbiddenType(_ event: InboxEvent) -> Rejection? {
        guard self != .service, event.type.hasPrefix("action.") else { return nil }
        return Rejection("\(event.type) events come only from the control plane's services, not from \(self)")
    }

    /// An event a node's agent sends for another node (or for no node): over HTTP this refuses
    /// the whole request (403), since the token itself is being misused.
    public func trespass(_ event: InboxEvent) -> Rejection? {
        guard case .node(let node) = self else { return nil }
        if event.source != "node/" + node { return Rejection("source \"\(event.source)\" is not node/\(node): node \(node) speaks only for itself") }
        if let other = Provenance.nodeNamed(by: event.subject), other != node {
            return Rejection("subject \"\(event.subject ?? "")\" belongs to node \(other): node \(node) speaks only for itself")
        }
        return nil
    }

    /// The node a subject names, if it names one: `node/NAME` (and `node/NAME/…`), or a
    /// node's own resources `container/NAME/…` (a snapshot's `container/NAME` included).
    static func nodeNamed(by subject: String?) -> String? {
        guard let subject else { return nil }
        let parts = subject.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0] == "node" || parts[0] == "container" else { return nil }
        return String(parts[1])
    }

    public var description: String {
        switch self {
        case .producer: "the inbox"
        case .service: "a service"
        case .node(let node): "node \(node)"
        }
    }
}
