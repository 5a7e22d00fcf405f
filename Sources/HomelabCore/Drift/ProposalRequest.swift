#if canImport(Glibc)
import Glibc
#endif
import FSWatch

/// An operator asking the supervisor for a proposal now (`homelab propose RESOURCE`, the UI's
/// `POST /api/propose`), overriding back-off, flapping and an earlier rejection (SPEC §12).
/// Services meet only in files: the request is `requests/propose/NAME.json`, written durably
/// (it is the operator's word, and the supervisor may be down), which the supervisor takes,
/// answers with a proposal whose `action.proposed` names the operator, and removes.
public struct ProposalRequest: Equatable, Sendable {
    public var resource: Subject
    /// Who asked: the operator's name, as `action.proposed`'s actor.
    public var operatorName: String
    /// From where: an address, or "shell".
    public var remote: String
    public var requestedAt: Timestamp

    public init(resource: Subject, operatorName: String, remote: String, requestedAt: Timestamp = .now()) {
        self.resource = resource
        self.operatorName = operatorName
        self.remote = remote
        self.requestedAt = requestedAt
    }

    public enum Outcome: Equatable, Sendable {
        case requested
        /// The resource has no drift a catalog action answers (the current `drift.json`).
        case nothingToPropose
    }

    /// Checks that `drift.json` shows a remediable drift for the resource (one with an
    /// action or a wait), then writes the request.
    public static func submit(_ request: ProposalRequest, root: RuntimeRoot) throws(SystemError) -> Outcome {
        guard isRemediable(request.resource, root: root) else { return .nothingToPropose }
        let name = String(Digest.sha256Hex(Array("\(request.resource)\u{0}\(request.requestedAt.iso8601Milliseconds)\u{0}\(Digest.randomHex())".utf8)).prefix(16))
        try AtomicFile.write(JSONWriter.encode(.object(request.json)), to: root.proposeRequests + "/" + name + ".json", durability: .fileAndFolder)
        return .requested
    }

    /// Whether the supervisor's last report has a drift of `resource` that an action answers
    /// or is waiting to answer.
    public static func isRemediable(_ resource: Subject, root: RuntimeRoot) -> Bool {
        guard let report = DriftReport.read(root.driftReport) else { return false }
        return report.entries(for: resource.description).contains { $0.action != nil || $0.wait != nil }
    }

    public var json: JSONObject {
        ["resource": .string(resource.description), "operator": .string(operatorName), "remote": .string(remote),
         "requestedAt": .string(requestedAt.iso8601Milliseconds)]
    }

    public static func read(_ path: String) -> ProposalRequest? {
        guard let object = FileContents.object(path), let text = object["resource"]?.string,
              case .success(let resource) = Subject.parse(text) else { return nil }
        return ProposalRequest(resource: resource, operatorName: String((object["operator"]?.string ?? "operator").prefix(64)),
                               remote: String((object["remote"]?.string ?? "").prefix(128)),
                               requestedAt: object["requestedAt"]?.string.flatMap { Timestamp(rfc3339: $0) } ?? .now())
    }
}
