#if canImport(Glibc)
import Glibc
#endif
import FSWatch

/// An operator's approve or reject of a pending action — the same rules and audit from the UI
/// and from `homelab approve/reject`. The decision is one rename out of `pending/`: against a
/// supersede or another operator exactly one wins, and the loser learns the action is no
/// longer pending. The audit is the `action.approved`/`action.rejected` event (operator,
/// remote address, time), folded into `world/action/ID.json`.
public enum OperatorDecision {
    public enum Verdict: String, Sendable { case approve, reject }

    public enum Outcome: Equatable, Sendable {
        case done
        case unknown
        /// The action exists but is no longer pending: its current state.
        case notPending(String)
    }

    public static func decide(_ verdict: Verdict, id: String, root: RuntimeRoot, operator name: String, remote: String) throws(SystemError) -> Outcome {
        guard isValidID(id) else { return .unknown }
        let from = root.action(id, in: .pending)
        let to = root.action(id, in: verdict == .approve ? .approved : .rejected)
        if rename(from, to) != 0 {
            guard Errno.current == .noSuchFile else { throw SystemError("rename", Errno.current, subject: "\(from) -> \(to)") }
            return root.actionState(id).map { .notPending($0.rawValue) } ?? .unknown
        }
        // The rename is the whole decision: the file is not written again afterwards. An
        // approved file is the executor's the moment it lands, and a rewrite after the executor
        // has claimed it would put a second copy into approved/ and run the action twice. Who
        // decided, from where and when is the event's, and world/action/ID.json keeps it.
        try ActionEvents(root: root, source: "ui").emit(verdict == .approve ? .approved : .rejected, id: id, actor: name,
                                                        ["remote": .string(remote)])
        return .done
    }

    /// Action IDs name files: hex digests with an optional `-N`, or simple names.
    public static func isValidID(_ id: String) -> Bool {
        guard let first = id.utf8.first, id.utf8.count <= 128, first != UInt8(ascii: ".") else { return false }
        return id.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 122) || ($0 >= 65 && $0 <= 90) || $0 == 45 || $0 == 95 || $0 == 46 }
    }
}
