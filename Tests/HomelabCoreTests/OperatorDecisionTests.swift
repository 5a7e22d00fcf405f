#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import Foundation
import HomelabCore
import Testing

@Suite struct OperatorDecisionTests {
    private func root() throws -> RuntimeRoot {
        var template = Array("/dev/shm/homelab-decision.XXXXXX".utf8CString)
        let path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        let root = RuntimeRoot(path)
        try root.create()
        return root
    }

    /// The approved file is the pending one, moved: never written again, since the executor
    /// may claim it the instant it lands and a rewrite would put a second copy in approved/.
    @Test func approvalIsOneRenameAndTheFileIsNotRewritten() throws {
        let root = try root()
        defer { try? FileManager.default.removeItem(atPath: root.path) }
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
    }
}
