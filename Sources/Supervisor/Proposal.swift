import HomelabCore

/// What the supervisor wants done about one drift: which catalog action, with which args,
/// under which ID. The ID is a digest of (resource, action, args, desired values), so the
/// same drift never yields two proposals and a changed desired state yields a new one; a
/// later attempt at the same drift adds `-N`.
struct Proposal: Equatable {
    let drift: Drift
    let rule: DesiredResource.Rule
    let baseID: String

    init(drift: Drift, rule: DesiredResource.Rule) {
        self.drift = drift
        self.rule = rule
        var material = Array("\(drift.subject)\u{0}\(rule.action)\u{0}".utf8)
        for key in rule.args.keys.sorted() { material += Array("\(key)=\(rule.args[key]!)\u{0}".utf8) }
        let desired = JSONObject(drift.fields.map { (key: $0.field, value: $0.desired) })
        material += Array("\(drift.kind.rawValue)\u{0}".utf8) + JSONWriter.encode(.object(desired))
        baseID = String(Digest.sha256Hex(material).prefix(16))
    }

    func id(attempt: Int) -> String { attempt == 1 ? baseID : "\(baseID)-\(attempt)" }

    /// The remediation rule for a drift: `missing` and `stale` by name, a mismatch by the
    /// first rule that names one of its fields. Unmanaged resources are never acted on.
    static func rule(for drift: Drift, in desired: DesiredResource) -> DesiredResource.Rule? {
        switch drift.kind {
        case .missing: return desired.remediate.first { $0.on == "missing" }
        case .stale: return desired.remediate.first { $0.on == "stale" }
        case .mismatch:
            let fields = Set(drift.fields.map(\.field))
            return desired.remediate.first { fields.contains($0.on) }
        case .unmanaged: return nil
        }
    }

    /// The action file (SPEC §6).
    func file(attempt: Int, preview: [String], revision: String, worldSeq: Int, at time: Timestamp, approvedBy: String?) -> ActionFile {
        var file = ActionFile(id: id(attempt: attempt))
        file.action = rule.action
        file.args = rule.args
        file.resource = drift.subject.description
        file.drift = drift
        file.desiredRevision = revision
        file.worldSeq = worldSeq
        file.proposedAt = time.iso8601
        file.attempt = attempt
        file.preview = preview
        if let approvedBy {
            file.approvedBy = approvedBy
            file.approvedAt = time.iso8601
        }
        return file
    }
}
