#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import Foundation
import HomelabCore
import Testing
import TestSupport

@Suite(.timeLimit(.minutes(1))) struct OperatorDecisionTests {
    let folder = TemporaryFolder("decision")

    private func root() throws -> RuntimeRoot {
        let root = RuntimeRoot(folder.path)
        try root.create()
        return root
    }

    /// The approved file is the pending one, moved: never written again, since the executor
    /// may claim it the instant it lands and a rewrite would put a second copy in approved/.
    @Test func approvalIsOneRenameAndTheFileIsNotRewritten() throws {
        let root = try root()
        let pending = root.actions(.pending) + "/abc123.json"
        try AtomicFile.write("{\"id\":\"abc123\"}\n", to: pending)
        var before = stat()
        #expect(stat(pending, &before) == 0)
        #expect(try OperatorDecision.decide(.approve, id: "abc123", root: root, operator: "alice", remote: "shell") == .done)
        var after = stat()
        #expect(stat(root.actions(.approved) + "/abc123.json", &after) == 0)
        #expect(after.st_ino == before.st_ino)
        #expect(FileContents.read(root.actions(.approved) + "/abc123.json") == Array("{\"id\":\"abc123\"}\n".utf8))

        // Claimed by an executor at once: nothing reappears in approved/.
        #expect(rename(root.actions(.approved) + "/abc123.json", root.actions(.running) + "/abc123.json") == 0)
        #expect(listDirectory(root.actions(.approved)).isEmpty)

        // The audit is the event.
        let events = listDirectory(root.audit).compactMap { FileContents.object(root.audit + "/" + $0.name) }
        #expect(events.count == 1)
        #expect(events.first?["type"]?.string == "action.approved")
        #expect(events.first?["data"]?["actor"]?.string == "alice")
        #expect(try OperatorDecision.decide(.approve, id: "abc123", root: root, operator: "bob", remote: "shell") == .notPending("running"))
        #expect(listDirectory(root.audit).count == 1, "the loser left an event behind")
    }

    /// A decider killed between its rename and its event used to leave no audit at all: the
    /// event is staged before the rename, and published by whoever looks next.
    @Test func aDecisionKilledBeforeItsEventIsStillAudited() throws {
        let root = try root()
        try AtomicFile.write("{\"id\":\"made\"}\n", to: root.action("made", in: .pending))
        try AtomicFile.write("{\"id\":\"never\"}\n", to: root.action("never", in: .pending))
        // What a kill -9 leaves: staged events, one whose rename happened and one whose did not.
        for id in ["made", "never"] {
            let event = ActionEvents(root: root, source: "ui").event(.approved, id: id, actor: "alice", eventID: "decision-" + id)
            try AtomicFile.write(event, to: root.audit + "/.decision-approve.\(id).json")
        }
        #expect(rename(root.action("made", in: .pending), root.action("made", in: .approved)) == 0)
        // A staged event of a pending action may be a decision in flight: only an old one is dropped.
        OperatorDecision.recoverAll(root: root)
        #expect(fileKind(root.audit + "/.decision-approve.never.json") == .regular)
        var old = [timeval(tv_sec: time(nil) - 120, tv_usec: 0), timeval(tv_sec: time(nil) - 120, tv_usec: 0)]
        utimes(root.audit + "/.decision-approve.never.json", &old)

        OperatorDecision.recoverAll(root: root)
        let published = listDirectory(root.audit).map(\.name)
        #expect(published == ["decision-approve.made.json"], "\(published)")
        #expect(FileContents.object(root.audit + "/" + published[0])?["data"]?["actor"]?.string == "alice")
        #expect(root.actionState("never") == .pending)
    }
}
