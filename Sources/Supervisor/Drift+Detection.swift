import HomelabCore

/// What the world shows of one resource, as the supervisor needs it.
struct Observed: Equatable {
    var properties: JSONObject
    var lastSeen: Timestamp?
}

/// How the supervisor finds drift (SPEC §5): desired against observed, one resource at a time.
extension Drift {
    /// The drift of one desired resource against what the world shows (nil: not in world).
    static func of(_ desired: DesiredResource, _ observed: Observed?, now: Timestamp) -> [Drift] {
        guard let observed else {
            let fields = desired.spec.map { Field(field: $0.key, desired: $0.value, observed: .null) }
            return [Drift(subject: desired.subject, kind: .missing, fields: fields)]
        }
        var drifts: [Drift] = []
        let mismatched = desired.spec.compactMap { member -> Field? in
            let seen = observed.properties[member.key] ?? .null
            return matches(member.value, seen) ? nil : Field(field: member.key, desired: member.value, observed: seen)
        }
        if !mismatched.isEmpty { drifts.append(Drift(subject: desired.subject, kind: .mismatch, fields: mismatched)) }
        if let deadline = staleDeadline(desired, observed), deadline <= now {
            drifts.append(Drift(subject: desired.subject, kind: .stale, fields: [
                Field(field: "lastSeen", desired: .string("within \(desired.staleAfterSeconds!) s"),
                      observed: observed.lastSeen.map { .string($0.iso8601) } ?? .null),
            ]))
        }
        return drifts
    }

    /// When the resource goes stale if nothing is heard of it (nil: it never does).
    static func staleDeadline(_ desired: DesiredResource, _ observed: Observed?) -> Timestamp? {
        guard let seconds = desired.staleAfterSeconds, let lastSeen = observed?.lastSeen else { return nil }
        return lastSeen.adding(seconds: Double(seconds))
    }

    /// Objects compare on the keys the desired side names; everything else compares whole.
    /// Numbers compare by value (`1` and `1.0` are the same).
    static func matches(_ desired: JSONValue, _ observed: JSONValue) -> Bool {
        switch (desired, observed) {
        case (.object(let want), .object(let have)):
            return want.allSatisfy { matches($0.value, have[$0.key] ?? .null) }
        case (.number(let a), .number(let b)):
            return a == b || (Double(a) != nil && Double(a) == Double(b))
        default:
            return desired == observed
        }
    }
}
