import HomelabCore

/// Crash loops (SPEC §12): a resource whose observed state leaves the desired one `count`
/// times within `withinSeconds` (its `flapping` rule) is flapping until fewer leaves fall in
/// the window. Counted from what the supervisor sees (a world change that turns a resource
/// from matching to drifting), in memory: a restart starts counting afresh, which at worst
/// delays the verdict by a few leaves.
struct FlapDetector {
    /// Per resource: whether it matched its desired state at the last evaluation.
    private var matched: [Subject: Bool] = [:]
    /// Per resource: when it left the desired state, oldest first, within its window.
    private(set) var leaves: [Subject: [Timestamp]] = [:]

    /// Notes one evaluation of a desired resource: `drifting` when it is missing or mismatched.
    /// The first evaluation of a resource only records where it stands.
    mutating func note(_ subject: Subject, drifting: Bool, now: Timestamp, rule: DesiredResource.Flapping) {
        if matched[subject] == true && drifting { leaves[subject, default: []].append(now) }
        matched[subject] = !drifting
        prune(subject, now: now, rule: rule)
    }

    mutating func forget(_ subject: Subject) {
        matched[subject] = nil
        leaves[subject] = nil
    }

    /// Until when the resource flaps (nil: it does not): the moment the oldest leave that keeps
    /// the count at `rule.count` falls out of the window.
    mutating func flappingUntil(_ subject: Subject, now: Timestamp, rule: DesiredResource.Flapping) -> Timestamp? {
        prune(subject, now: now, rule: rule)
        guard let recent = leaves[subject], recent.count >= rule.count else { return nil }
        return recent[recent.count - rule.count].adding(seconds: Double(rule.withinSeconds))
    }

    /// How many times it left the desired state within its window.
    func count(_ subject: Subject) -> Int { leaves[subject]?.count ?? 0 }

    private mutating func prune(_ subject: Subject, now: Timestamp, rule: DesiredResource.Flapping) {
        guard var recent = leaves[subject] else { return }
        let horizon = now.adding(seconds: -Double(rule.withinSeconds))
        recent.removeAll { $0 <= horizon }
        leaves[subject] = recent.isEmpty ? nil : recent
    }
}
