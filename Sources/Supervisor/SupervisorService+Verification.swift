import FSWatch
import HomelabCore

/// Verification (SPEC §12): after an action succeeded, is the drift it was proposed for gone
/// within `verifyWithinSeconds`? `action.verified` or `action.unverified`, actor `supervisor`.
///
/// It survives a restart without a file of its own: the actions in `done/` whose audit trail
/// (`world/action/ID.json`) shows no verdict yet are watched again, from their result's
/// `finishedAt`. A verdict's event has a fixed ID (`verification-ID`), so a verdict emitted
/// twice across a crash is logged once: the observer drops the repeat of a `(source, id)`.
extension SupervisorService {
    /// An action landed in `done/` (now, or found there at start-up).
    func startVerifying(_ id: String) {
        guard verifications[id] == nil, let file = ActionFile.read(root.action(id, in: .done)) else { return }
        let within = file.action.flatMap { inventory.catalog[$0]?.verifyWithinSeconds } ?? CatalogEntry.defaultVerifyWithinSeconds
        guard let verification = Verification(file, withinSeconds: within),
              verification.deadline.adding(seconds: settings.verifyGraceSeconds) > Timestamp.now() else { return }
        if let history = ActionHistory.read(id, root: root), history.has(.verified) || history.has(.unverified) { return }
        verifications[id] = verification
        if started { checkVerifications(of: [verification.subject], now: .now()) }
    }

    /// Checks the verifications of `subjects` (nil: all) against the current drift.
    func checkVerifications(of subjects: Set<Subject>?, now: Timestamp) {
        for (id, var verification) in verifications where subjects?.contains(verification.subject) ?? true {
            let persists = verification.persists(in: drifts[verification.subject] ?? [])
            guard let verdict = verification.check(persists: persists, now: now, settle: settings.verifySettleSeconds) else {
                verifications[id] = verification
                continue
            }
            verifications[id] = nil
            let step: ActionEvents.Step = verdict == .verified ? .verified : .unverified
            let data: JSONObject = [
                "resource": .string(verification.subject.description), "drift": .string(verification.kind.rawValue),
                "withinSeconds": .int(verification.withinSeconds),
            ]
            events.emit(step, id: id, actor: Self.service, data, eventID: "verification-" + id, logger: logger)
            if verdict == .verified {
                verified += 1
                logger.info("verified \(id): the \(verification.kind.rawValue) drift of \(verification.subject) is gone")
            } else {
                unverified += 1
                logger.warning("unverified \(id): the \(verification.kind.rawValue) drift of \(verification.subject) is still there \(verification.withinSeconds) s after the action succeeded")
            }
        }
    }

    /// The earliest moment a verification may reach its verdict.
    var nextVerificationDeadline: Timestamp? {
        verifications.values.map { $0.nextDeadline(settle: settings.verifySettleSeconds) }.min()
    }
}
