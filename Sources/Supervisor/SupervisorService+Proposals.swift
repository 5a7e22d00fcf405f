#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// Proposals (SPEC §6): writing one into `actions/pending/` (or `approved/` for autoApprove
/// entries), and superseding one that is no longer wanted.
extension SupervisorService {
    /// Proposes attempt `attempt`; `request` when an operator asked for it (the proposal is
    /// then theirs: `action.proposed` names them).
    func propose(_ proposal: Proposal, attempt: Int, now: Timestamp, by request: ProposalRequest? = nil) -> String? {
        guard let entry = inventory.catalog[proposal.rule.action] else { return nil }
        let argv: [String]
        switch ActionResolver.resolve(entry, args: proposal.rule.args) {
        case .success(let resolved): argv = resolved
        case .failure(let failure):
            logger.warning("cannot propose \(proposal.rule.action) for \(proposal.drift.subject): \(failure)")
            return nil
        }
        let id = proposal.id(attempt: attempt)
        let approvedBy = entry.autoApprove ? "policy" : nil
        let state: RuntimeRoot.ActionState = entry.autoApprove ? .approved : .pending
        let path = root.action(id, in: state)
        let file = proposal.file(attempt: attempt, preview: argv, revision: revision, worldSeq: world.seq, at: now, approvedBy: approvedBy)
        do {
            try file.write(to: path, durability: .none)
        } catch {
            logger.error("could not write the proposal \(id): \(error)")
            return nil
        }
        actions.note(path, present: true)
        proposed += 1
        var summary: JSONObject = [
            "action": .string(proposal.rule.action), "resource": .string(proposal.drift.subject.description),
            "drift": .string(proposal.drift.kind.rawValue), "attempt": .int(attempt),
            "preview": .array(argv.map { .string($0) }),
        ]
        if let approvedBy { summary["approvedBy"] = .string(approvedBy) }  // nobody needs telling
        if let request {
            summary["requestedBy"] = .string("operator")
            summary["remote"] = .string(request.remote)
        }
        events.emit(.proposed, id: id, actor: request?.operatorName ?? Self.service, summary, logger: logger)
        if let approvedBy { events.emit(.approved, id: id, actor: approvedBy, summary, logger: logger) }
        logger.info("proposed \(id): \(proposal.rule.action) for \(proposal.drift.subject) (\(proposal.drift.kind.rawValue), attempt \(attempt))\(request.map { ", asked for by \($0.operatorName)" } ?? "")\(approvedBy == nil ? "" : ", approved by policy")")
        return id
    }

    /// Moves a pending action to `superseded/` — one rename, so an operator approving it at the
    /// same moment either wins (and this does nothing) or loses with a clear 409.
    func supersede(_ id: String, reason: String) {
        let from = root.action(id, in: .pending)
        let to = root.action(id, in: .superseded)
        if rename(from, to) != 0 {
            if Errno.current != .noSuchFile { logger.warning("could not supersede \(id): \(Errno.current)") }
            return  // someone else decided first
        }
        actions.note(from, present: false)
        actions.note(to, present: true)
        // superseded/ is final: nobody renames a file out of it, so this rewrite races nothing.
        if var file = ActionFile.read(to) {
            file.supersededAt = Timestamp.now().iso8601
            file.supersededReason = reason
            try? file.write(to: to, durability: .none)
        }
        superseded += 1
        events.emit(.superseded, id: id, actor: Self.service, ["reason": .string(reason)], logger: logger)
        logger.info("superseded \(id): \(reason)")
    }
}
