import HomelabCore

/// An action that succeeded, waiting to be verified (SPEC §12): the drift it was proposed for
/// must be gone within the catalog entry's `verifyWithinSeconds`.
///
/// "Gone" means gone and staying gone for `settle`: a container that an action starts and that
/// exits at once is reported running for a moment, and that moment must not verify it. At the
/// deadline the drift is present (`unverified`) or not (`verified`), whatever the settle.
struct Verification: Equatable {
    let id: String
    let subject: Subject
    let kind: Drift.Kind
    /// For a mismatch: the fields it was about; the same drift is one of these still differing.
    let fields: Set<String>
    let deadline: Timestamp
    let withinSeconds: Int
    /// Since when the drift has been gone, while it is.
    var goneSince: Timestamp?

    init?(_ file: ActionFile, withinSeconds: Int) {
        guard let text = file.resource, case .success(let subject) = Subject.parse(text), let drift = file.drift,
              let finished = file.result?.finishedAt.flatMap({ Timestamp(rfc3339: $0) }) else { return nil }
        id = file.id
        self.subject = subject
        kind = drift.kind
        fields = Set(drift.fields.map(\.field))
        deadline = finished.adding(seconds: Double(withinSeconds))
        self.withinSeconds = withinSeconds
    }

    /// Whether `drifts` (the resource's current ones) still hold the drift the action was for.
    func persists(in drifts: [Drift]) -> Bool {
        drifts.contains { $0.kind == kind && (kind != .mismatch || !fields.isDisjoint(with: $0.fields.map(\.field))) }
    }

    enum Verdict { case verified, unverified }

    /// The verdict at `now`, if there is one yet, after noting whether the drift persists.
    mutating func check(persists: Bool, now: Timestamp, settle: Double) -> Verdict? {
        if persists {
            goneSince = nil
            return now >= deadline ? .unverified : nil
        }
        let since = goneSince ?? now
        goneSince = since
        return now >= deadline || since.adding(seconds: settle) <= now ? .verified : nil
    }

    /// When `check` may next have a verdict without anything changing.
    func nextDeadline(settle: Double) -> Timestamp {
        goneSince.map { min(deadline, $0.adding(seconds: settle)) } ?? deadline
    }
}
