#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport
import FSWatch
import HomelabCore
@testable import Executor

@Suite(.serialized, .timeLimit(.minutes(2))) struct ExecutorTests {
    @Test func aSuccessfulActionIsRecordedWithItsOutput() throws {
        let fixture = try ExecutorFixture()
        fixture.catalog("say", #"{"argv":["echo","hello","{name}"],"params":{"name":"^[a-z]+$"},"timeoutSeconds":5}"#)
        try fixture.start()
        fixture.approve("a1", action: "say", args: ["name": "world"], resource: "container/nas/jellyfin")
        #expect(try fixture.turn(until: { fixture.ids(.done) == ["a1"] }))
        let result = fixture.result(.done, "a1")
        #expect(result["exitCode"] as? Int == 0)
        #expect(result["outputTail"] as? String == "hello world\n")
        #expect(result["startedAt"] is String && result["finishedAt"] is String && result["durationMs"] != nil)
        #expect(try String(contentsOfFile: fixture.root.actionLogs + "/a1.log", encoding: .utf8) == "hello world\n")
        #expect(fixture.ids(.running).isEmpty && fixture.ids(.approved).isEmpty)
        #expect(fixture.events().map(\.type) == ["action.started", "action.succeeded"])
        #expect(fixture.events().allSatisfy { $0.subject == "action/a1" && $0.data["actor"] as? String == "executor" })
    }

    @Test func aFailureKeepsItsExitCode() throws {
        let fixture = try ExecutorFixture()
        fixture.catalog("fail", #"{"argv":["sh","-c","echo broken >&2; exit {code}"],"params":{"code":"^[0-9]{1,3}$"}}"#)
        try fixture.start()
        fixture.approve("f1", action: "fail", args: ["code": "7"])
        #expect(try fixture.turn(until: { fixture.ids(.failed) == ["f1"] }))
        #expect(fixture.result(.failed, "f1")["exitCode"] as? Int == 7)
        #expect(fixture.result(.failed, "f1")["outputTail"] as? String == "broken\n")
        #expect(fixture.events().last?.type == "action.failed")
    }

    @Test func aTimeoutEndsTheChildAndEverythingItStarted() throws {
        let fixture = try ExecutorFixture()
        // A child that ignores SIGTERM and leaves a grandchild behind.
        fixture.catalog("hang", #"{"argv":["sh","-c","trap '' TERM; sleep 60 & sleep {seconds}; wait"],"params":{"seconds":"^[0-9]+$"},"timeoutSeconds":1}"#)
        var settings = ExecutorService.Settings()
        settings.killGrace = .milliseconds(300)
        try fixture.start(settings)
        fixture.approve("t1", action: "hang", args: ["seconds": "60"])
        #expect(try fixture.turn(until: { fixture.executor.running == 1 }))
        let pid = try #require(fixture.events().first { $0.type == "action.started" }?.data["pid"] as? Int)
        #expect(groupAlive(pid_t(pid)))
        #expect(try fixture.turn(until: { fixture.ids(.failed) == ["t1"] }, timeout: .seconds(5)))
        let result = fixture.result(.failed, "t1")
        #expect((result["error"] as? String)?.hasPrefix("timed out after 1 s: sent SIGTERM, then SIGKILL") == true)
        #expect(result["signal"] as? String == "SIGKILL")
        #expect(!groupAlive(pid_t(pid)), "processes of the action's group are still running")
    }

    @Test func stoppingAsksRunningActionsToEndAndRecordsThemInterrupted() throws {
        let fixture = try ExecutorFixture()
        let marker = fixture.base + "/terminated"
        fixture.catalog("wait", #"{"argv":["sh","-c","trap 'touch \#(marker); exit 5' TERM; while :; do sleep 0.05; done"],"params":{},"timeoutSeconds":60}"#)
        try fixture.start()
        fixture.approve("w1", action: "wait", args: [:])
        #expect(try fixture.turn(until: { fixture.executor.running == 1 }))
        try fixture.turn(for: .milliseconds(100))  // the trap is set
        var stopped = false
        fixture.executor.stop { stopped = true }
        #expect(try fixture.turn(until: { stopped }, timeout: .seconds(10)))
        #expect(FileManager.default.fileExists(atPath: marker), "the action was killed without a SIGTERM first")
        #expect(fixture.ids(.failed) == ["w1"] && fixture.ids(.running).isEmpty)
        let result = fixture.result(.failed, "w1")
        #expect(result["exitCode"] as? Int == 5)
        #expect((result["error"] as? String)?.hasPrefix("interrupted: the executor was stopped") == true)
        fixture.approve("w2", action: "wait", args: [:])
        try fixture.turn(for: .milliseconds(200))
        #expect(fixture.ids(.approved) == ["w2"], "a stopping executor claimed a new action")
    }

    @Test func tenMebibytesOfOutputStreamWithoutBlockingTheLoop() throws {
        let fixture = try ExecutorFixture()
        fixture.catalog("chatty", #"{"argv":["sh","-c","for i in $(seq 1 {rounds}); do head -c 52428 /dev/zero | tr '\\0' x; sleep 0.002; done; echo end"],"params":{"rounds":"^[0-9]+$"},"timeoutSeconds":60}"#)
        try fixture.start()
        var ticks: [MonotonicTime] = []
        let ticker = fixture.reactor.timer(after: .milliseconds(10), repeating: .milliseconds(10)) { ticks.append(.now()) }
        fixture.approve("big", action: "chatty", args: ["rounds": "200"])
        #expect(try fixture.turn(until: { fixture.ids(.done) == ["big"] }, timeout: .seconds(60)))
        ticker.cancel()
        var info = stat()
        stat(fixture.root.actionLogs + "/big.log", &info)
        #expect(info.st_size == 200 * 52_428 + 4)
        #expect((fixture.result(.done, "big")["outputTail"] as? String)?.hasSuffix("end\n") == true)
        let gaps = zip(ticks.dropFirst(), ticks).map { ($0 - $1).milliseconds }
        #expect(ticks.count > 20)
        #expect((gaps.max() ?? 0) < 250, "the loop stalled for \(gaps.max() ?? 0) ms while output streamed")
    }

    @Test(arguments: [
        ("unknown", "reboot-universe", ["x": "1"], "", "unknown action \"reboot-universe\""),
        ("badarg", "touch", ["name": "UPPER"], "", "does not match"),
        ("extra", "touch", ["name": "ok", "mode": "777"], "", "arg \"mode\" is not a param"),
        ("missing", "touch", [:], "", "missing arg \"name\""),
        ("semicolon", "touch", ["name": "x; rm -rf /"], "", "does not match"),
        ("subshell", "touch", ["name": "$(id)"], "", "does not match"),
        ("backticks", "touch", ["name": "`id`"], "", "does not match"),
        ("newline", "touch", ["name": "ok\nid"], "", "does not match"),
        ("traversal", "touch", ["name": "../../etc/passwd"], "", "does not match"),
        ("ownargv", "touch", ["name": "ok"], #","argv":["/bin/sh","-c","id"]"#, "carries its own command"),
        ("catalogtraversal", "../touch", ["name": "ok"], "", "unknown action \"../touch\""),
    ])
    func refusedActionsFailWithAClearReasonAndNothingRuns(id: String, action: String, args: [String: String], extra: String, reason: String) throws {
        let fixture = try ExecutorFixture()
        let marker = fixture.base + "/marker"
        try FileManager.default.createDirectory(atPath: marker, withIntermediateDirectories: true)
        fixture.catalog("touch", #"{"argv":["touch","\#(marker)/{name}"],"params":{"name":"^[a-z]+$"}}"#)
        try fixture.start()
        fixture.approve(id, action: action, args: args, extra: extra)
        #expect(try fixture.turn(until: { fixture.ids(.failed) == [id] }))
        #expect((fixture.result(.failed, id)["error"] as? String)?.contains(reason) == true, "\(fixture.result(.failed, id))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: marker).isEmpty, "something ran")
        #expect(fixture.events().map(\.type) == ["action.failed"])
    }

    // MARK: The gate (SPEC §6)

    @Test func anActionTheLogNeverProposedDoesNotRun() throws {
        let fixture = try ExecutorFixture()
        let marker = fixture.base + "/ran"
        fixture.catalog("mark", #"{"argv":["touch","\#(marker)"],"params":{}}"#)
        var settings = ExecutorService.Settings()
        settings.proposalWait = .milliseconds(300)
        try fixture.start(settings)
        fixture.approve("forged", action: "mark", args: [:], proposed: false)
        #expect(try fixture.turn(until: { fixture.ids(.failed) == ["forged"] }))
        #expect((fixture.result(.failed, "forged")["error"] as? String)?.contains("never proposed") == true)
        #expect(!FileManager.default.fileExists(atPath: marker), "a forged action ran")
    }

    @Test func anApprovalThatArrivesBeforeItsProposalIsFoldedWaitsForIt() throws {
        let fixture = try ExecutorFixture()
        fixture.catalog("say", #"{"argv":["echo","hi"],"params":{}}"#)
        try fixture.start()
        fixture.approve("early", action: "say", args: [:], proposed: false)
        try fixture.turn(for: .milliseconds(150))
        #expect(fixture.ids(.approved) == ["early"], "it ran, or was refused, before its proposal was in the log")
        recordProposal("early", root: fixture.root)
        #expect(try fixture.turn(until: { fixture.ids(.done) == ["early"] }))
    }

    @Test func anIDThatRanNeverRunsAgain() throws {
        let fixture = try ExecutorFixture()
        let marker = fixture.base + "/count"
        fixture.catalog("count", #"{"argv":["sh","-c","echo x >> \#(marker)"],"params":{}}"#)
        try fixture.start()
        fixture.approve("once", action: "count", args: [:])
        #expect(try fixture.turn(until: { fixture.ids(.done) == ["once"] }))
        let result = fixture.result(.done, "once")
        let log = try String(contentsOfFile: fixture.root.actionLog("once"), encoding: .utf8)
        fixture.approve("once", action: "count", args: [:])  // a copy put back into approved/
        #expect(try fixture.turn(until: { fixture.ids(.approved).isEmpty && fixture.ids(.running).isEmpty }))
        try fixture.turn(for: .milliseconds(100))
        #expect(try String(contentsOfFile: marker, encoding: .utf8) == "x\n", "it ran twice")
        #expect(fixture.ids(.done) == ["once"] && fixture.ids(.failed).isEmpty)
        #expect(NSDictionary(dictionary: fixture.result(.done, "once")).isEqual(to: result), "its result was overwritten")
        #expect(try String(contentsOfFile: fixture.root.actionLog("once"), encoding: .utf8) == log, "its log was truncated")
    }

    @Test func aSymlinkOrAFIFOInApprovedIsRemovedAndNothingRunsOrBlocks() throws {
        let fixture = try ExecutorFixture()
        fixture.catalog("say", #"{"argv":["echo","hi"],"params":{}}"#)
        let outside = fixture.base + "/outside.json"
        try #"{"id":"link","action":"say","args":{}}"#.write(toFile: outside, atomically: true, encoding: .utf8)
        recordProposal("link", root: fixture.root)
        recordProposal("fifo", root: fixture.root)
        try fixture.start()
        symlink(outside, fixture.root.actions(.approved) + "/link.json")
        mkfifo(fixture.root.actions(.approved) + "/fifo.json", 0o644)
        fixture.approve("real", action: "say", args: [:])
        #expect(try fixture.turn(until: { fixture.ids(.done) == ["real"] }), "a FIFO blocked the executor")
        #expect(try fixture.turn(until: { fixture.ids(.approved).isEmpty }))
        #expect(fixture.ids(.done) == ["real"] && fixture.ids(.failed).isEmpty)
        #expect(FileManager.default.fileExists(atPath: outside), "the symlink's target was moved")
    }

    @Test func aRenameByHandIsRecordedAsApprovedByTheFilesystem() throws {
        let fixture = try ExecutorFixture()
        fixture.catalog("say", #"{"argv":["echo","hi"],"params":{}}"#)
        try fixture.start()
        recordProposal("byhand", root: fixture.root, approvedBy: nil)
        fixture.approve("byhand", action: "say", args: [:], proposed: false)
        #expect(try fixture.turn(until: { fixture.ids(.done) == ["byhand"] }))
        let approval = fixture.events().first { $0.type == "action.approved" }
        #expect(approval?.data["actor"] as? String == "filesystem")
    }

    /// The observer takes an operator's audit file as soon as it is logged, and folds it into
    /// world/ a moment later: in between, the approval is only in the log. The executor waits
    /// for the world to catch up rather than record the rename as made by hand.
    @Test func anApprovalLoggedButNotYetFoldedIsNotTakenForARenameByHand() throws {
        let fixture = try ExecutorFixture()
        fixture.catalog("say", #"{"argv":["echo","hi"],"params":{}}"#)
        let day = fixture.root.events + "/2026-11-30"
        makeFolders(day)
        let line = { (seq: Int, type: String) in
            #"{"specversion":"1.0","id":"e\#(seq)","type":"\#(type)","source":"ui","subject":"action/inflight","time":"2026-11-30T00:00:00Z","seq":\#(seq),"receivedat":"2026-11-30T00:00:00Z"}"#
        }
        try (line(1, "action.proposed") + "\n" + line(2, "action.approved") + "\n").write(toFile: day + "/000000000001.jsonl", atomically: true, encoding: .utf8)
        try Checkpoint(seq: 1, bootID: BootID.current).write(fixture.root.observerCheckpoint, at: .now())
        try fixture.start()
        recordProposal("inflight", root: fixture.root, approvedBy: nil)
        fixture.approve("inflight", action: "say", args: [:], proposed: false)
        try fixture.turn(for: .milliseconds(300))
        #expect(fixture.ids(.done).isEmpty, "ran before its approval was folded")
        recordProposal("inflight", root: fixture.root, approvedBy: "oskar")  // the observer folds seq 2
        try Checkpoint(seq: 2, bootID: BootID.current).write(fixture.root.observerCheckpoint, at: .now())
        #expect(try fixture.turn(until: { fixture.ids(.done) == ["inflight"] }))
        #expect(!fixture.events().contains { $0.type == "action.approved" }, "recorded as approved by the filesystem")
    }

    @Test func oneActionAtATimePerResourceAndUpToTheConcurrency() throws {
        let fixture = try ExecutorFixture()
        fixture.catalog("nap", #"{"argv":["sleep","{seconds}"],"params":{"seconds":"^[0-9.]+$"}}"#)
        var settings = ExecutorService.Settings()
        settings.concurrency = 2
        try fixture.start(settings)
        fixture.approve("n1", action: "nap", args: ["seconds": "0.4"], resource: "container/a/x")
        fixture.approve("n2", action: "nap", args: ["seconds": "0.4"], resource: "container/a/x")
        fixture.approve("n3", action: "nap", args: ["seconds": "0.4"], resource: "container/b/y")
        fixture.approve("n4", action: "nap", args: ["seconds": "0.4"], resource: "container/c/z")
        try fixture.turn(for: .milliseconds(150))
        #expect(fixture.executor.running == 2)
        #expect(fixture.ids(.running).contains("n1") && !fixture.ids(.running).contains("n2"), "running: \(fixture.ids(.running)), done: \(fixture.ids(.done)), failed: \(fixture.ids(.failed)) \(fixture.ids(.failed).map { fixture.result(.failed, $0) })")
        #expect(try fixture.turn(until: { fixture.ids(.done).count == 4 }, timeout: .seconds(10)))
    }

    /// A `kill -9` between writing the result and the last rename used to leave the action in
    /// both done/ and failed/; the result is now written into running/ first, so recovery
    /// finishes the move the dead executor began.
    @Test func anActionWhoseResultWasWrittenIsMovedToItsOneFinalState() throws {
        let fixture = try ExecutorFixture()
        try #"{"id":"ran","action":"nap","args":{},"result":{"startedAt":"2026-11-30T00:00:00.000Z","exitCode":0,"finishedAt":"2026-11-30T00:00:01.000Z"}}"#
            .write(toFile: fixture.root.actions(.running) + "/ran.json", atomically: true, encoding: .utf8)
        try #"{"id":"broke","action":"nap","args":{},"result":{"exitCode":3}}"#
            .write(toFile: fixture.root.actions(.running) + "/broke.json", atomically: true, encoding: .utf8)
        try fixture.start()
        #expect(fixture.ids(.done) == ["ran"] && fixture.ids(.failed) == ["broke"] && fixture.ids(.running).isEmpty)
        #expect(fixture.result(.done, "ran")["finishedAt"] as? String == "2026-11-30T00:00:01.000Z")
        #expect(fixture.events().map(\.type).sorted() == ["action.failed", "action.succeeded"])
    }

    @Test func aFinishedActionIsInExactlyOneFolderAndNoTemporaryIsLeft() throws {
        let fixture = try ExecutorFixture()
        fixture.catalog("say", #"{"argv":["echo","hi"],"params":{}}"#)
        try fixture.start()
        for id in 0..<20 { fixture.approve("s\(id)", action: "say", args: [:]) }
        #expect(try fixture.turn(until: { fixture.ids(.done).count == 20 }))
        #expect(fixture.ids(.failed).isEmpty && fixture.ids(.running).isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.root.actions(.running)).isEmpty)
    }

    @Test func anActionLeftRunningByADeadExecutorIsInterruptedNotRerun() throws {
        let fixture = try ExecutorFixture()
        try "{\"id\":\"old\",\"action\":\"nap\",\"args\":{}}".write(toFile: fixture.root.actions(.running) + "/old.json", atomically: true, encoding: .utf8)
        try fixture.start()
        #expect(fixture.ids(.failed) == ["old"])
        #expect((fixture.result(.failed, "old")["error"] as? String)?.hasPrefix("interrupted") == true)
        #expect(fixture.events().map(\.type) == ["action.failed"])
    }
}
