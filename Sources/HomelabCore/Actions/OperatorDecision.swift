#if canImport(Glibc)
import Glibc
#endif
import FSWatch

/// An operator's approve or reject of a pending action — the same rules and audit from the UI
/// and from `homelab approve/reject`. The decision is one rename out of `pending/`: against a
/// supersede or another operator exactly one wins, and the loser learns the action is no
/// longer pending.
///
/// The audit — who decided, from where, when — is the `action.approved`/`action.rejected`
/// event, made durable with the decision: it is written (fsynced) under a hidden name in
/// `audit/` before the rename, and published by a second rename after it. A `kill -9` in
/// between leaves the staged event beside a decision that was made, and whoever looks next
/// (the executor claiming the action, or `recover`) publishes it; a staged event whose action
/// is still pending was never decided, and is dropped.
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
        let staged = stagedEvent(verdict, id: id, root: root)
        let event = ActionEvents(root: root, source: "ui").event(step(verdict), id: id, actor: name, ["remote": .string(remote)],
                                                                 eventID: "decision-" + id)
        try AtomicFile.write(event, to: staged, durability: .file)
        if rename(from, to) != 0 {
            let errno = Errno.current
            unlink(staged)
            guard errno == .noSuchFile else { throw SystemError("rename", errno, subject: "\(from) -> \(to)") }
            return root.actionState(id).map { .notPending($0.rawValue) } ?? .unknown
        }
        // The rename is the whole decision: the action file is not written again afterwards.
        // An approved file is the executor's the moment it lands, and a rewrite after the
        // executor has claimed it would put a second copy into approved/ and run it twice.
        do {
            try publish(staged, id: id, verdict: verdict, root: root)
        } catch where error.errno == .noSuchFile {
            // The executor, claiming the action that instant, published it first — or, had
            // it been dropped as stale, it is written now from the bytes in hand.
            if fileKind(published(verdict, id: id, root: root)) == nil {
                try AtomicFile.write(event, to: published(verdict, id: id, root: root), durability: .fileAndFolder)
            }
        }
        return .done
    }

    /// Publishes the staged event of a decision that was made; drops one that was not.
    /// Returns whether an event of `verdict` for `id` is recorded (published now or before).
    @discardableResult
    public static func recover(_ verdict: Verdict, id: String, root: RuntimeRoot) -> Bool {
        let staged = stagedEvent(verdict, id: id, root: root)
        guard fileKind(staged) == .regular else { return false }
        let decided: Set<RuntimeRoot.ActionState> = verdict == .approve ? [.approved, .running, .done, .failed] : [.rejected]
        let state = root.actionState(id)
        if state == .pending && !isOlderThanAMinute(staged) { return false }  // a decision in flight
        guard let state, decided.contains(state) else {
            unlink(staged)  // the decider died before its rename: nothing was decided
            return false
        }
        return (try? publish(staged, id: id, verdict: verdict, root: root)) != nil
    }

    /// Whether the event of a decision on `id` is published (or staged, and published now).
    public static func isRecorded(_ verdict: Verdict, id: String, root: RuntimeRoot) -> Bool {
        fileKind(published(verdict, id: id, root: root)) != nil || recover(verdict, id: id, root: root)
            || fileKind(published(verdict, id: id, root: root)) != nil  // published by its decider meanwhile
    }

    /// Every staged decision under `root`, settled (at a UI's start).
    public static func recoverAll(root: RuntimeRoot) {
        for entry in listDirectory(root.audit) where entry.name.hasPrefix(".decision-") && entry.name.hasSuffix(".json") {
            let parts = entry.name.dropFirst(".decision-".count).dropLast(5).split(separator: ".", maxSplits: 1)
            guard parts.count == 2, let verdict = Verdict(rawValue: String(parts[0])) else { continue }
            recover(verdict, id: String(parts[1]), root: root)
        }
    }

    private static func step(_ verdict: Verdict) -> ActionEvents.Step { verdict == .approve ? .approved : .rejected }

    /// `audit/.decision-VERDICT.ID.json`: hidden, so the observer leaves it until published.
    static func stagedEvent(_ verdict: Verdict, id: String, root: RuntimeRoot) -> String {
        root.decisionEvent(verdict.rawValue, id: id, staged: true)
    }

    /// `audit/decision-VERDICT.ID.json`: where the observer takes the event from.
    static func published(_ verdict: Verdict, id: String, root: RuntimeRoot) -> String {
        root.decisionEvent(verdict.rawValue, id: id)
    }

    private static func publish(_ staged: String, id: String, verdict: Verdict, root: RuntimeRoot) throws(SystemError) {
        try AtomicFile.rename(staged, to: published(verdict, id: id, root: root))
        try AtomicFile.syncFolder(root.audit)
    }

    private static func isOlderThanAMinute(_ path: String) -> Bool {
        guard let modified = Timestamp.modified(path) else { return true }
        return Timestamp.now().secondsSinceEpoch - modified.secondsSinceEpoch > 60
    }

    /// Action IDs name files: hex digests with an optional `-N`, or simple names.
    public static func isValidID(_ id: String) -> Bool {
        guard let first = id.utf8.first, id.utf8.count <= 128, first != UInt8(ascii: ".") else { return false }
        return id.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 122) || ($0 >= 65 && $0 <= 90) || $0 == 45 || $0 == 95 || $0 == 46 }
    }
}
