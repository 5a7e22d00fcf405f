#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport
import HomelabCore

@Suite(.serialized, .timeLimit(.minutes(5))) struct ExecutorEndToEndTests {
    /// A runtime root with a catalog in its repo; returns (fixture, environment).
    private func setUp(_ catalog: [String: String]) throws -> (RuntimeFixture, [String: String]) {
        let fixture = try RuntimeFixture()
        let repo = (fixture.root as NSString).deletingLastPathComponent + "/repo"
        try FileManager.default.createDirectory(atPath: repo + "/inventory/actions", withIntermediateDirectories: true)
        for (name, json) in catalog { try json.write(toFile: repo + "/inventory/actions/\(name).json", atomically: true, encoding: .utf8) }
        for state in ["approved", "running", "done", "failed"] {
            try FileManager.default.createDirectory(atPath: fixture.root + "/actions/" + state, withIntermediateDirectories: true)
        }
        return (fixture, fixture.environment.merging(["HOMELAB_REPO": repo, "HOMELAB_EXECUTOR_CONCURRENCY": "4"]) { $1 })
    }

    private func names(_ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }
    }

    @Test func twoExecutorsRacingOverFiveHundredActionsRunEachOnce() throws {
        let ledger = NSTemporaryDirectory() + "ledger-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(ledger) }
        let (fixture, environment) = try setUp([
            "record": #"{"argv":["sh","-c","echo {n} >> \#(ledger)"],"params":{"n":"^[0-9]+$"},"timeoutSeconds":30}"#,
        ])
        let first = try HomelabProcess(["executor"], environment: environment)
        let second = try HomelabProcess(["executor"], environment: environment)
        #expect(first.waitUntil { $0.standardError.contains("watching") } && second.waitUntil { $0.standardError.contains("watching") })
        let count = 500
        for i in 0..<count {
            let text = #"{"id":"r\#(i)","action":"record","args":{"n":"\#(i)"}}"#
            try text.write(toFile: fixture.stage + "/r\(i).json", atomically: false, encoding: .utf8)
        }
        for i in 0..<count { recordProposal("r\(i)", root: RuntimeRoot(fixture.root)) }  // what the observer would have folded
        for i in 0..<count { rename(fixture.stage + "/r\(i).json", fixture.root + "/actions/approved/r\(i).json") }
        #expect(first.waitUntil(timeout: 60) { _ in self.names(fixture.root + "/actions/done").count == count },
                "done: \(names(fixture.root + "/actions/done").count), failed: \(names(fixture.root + "/actions/failed").count)")
        kill(first.pid, SIGTERM)
        kill(second.pid, SIGTERM)
        #expect(first.waitForExit(timeout: 5) == 0 && second.waitForExit(timeout: 5) == 0)
        let lines = try String(contentsOfFile: ledger, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.count == count, "\(lines.count) runs for \(count) actions")
        #expect(Set(lines) == Set((0..<count).map(String.init)))
        #expect(names(fixture.root + "/actions/approved").isEmpty && names(fixture.root + "/actions/running").isEmpty)
        let split = [first, second].map { process in process.standardError.components(separatedBy: "succeeded r").count - 1 }
        #expect(split.reduce(0, +) == count)
    }

    @Test func killNineMidActionLeavesNoOrphanAndTheActionInterrupted() throws {
        let (fixture, environment) = try setUp([
            "nap": #"{"argv":["sleep","{seconds}"],"params":{"seconds":"^[0-9]+$"},"timeoutSeconds":300}"#,
        ])
        let executor = try HomelabProcess(["executor"], environment: environment)
        #expect(executor.waitUntil { $0.standardError.contains("watching") })
        try #"{"id":"long","action":"nap","args":{"seconds":"120"},"resource":"container/nas/x"}"#
            .write(toFile: fixture.stage + "/long.json", atomically: false, encoding: .utf8)
        recordProposal("long", root: RuntimeRoot(fixture.root))
        rename(fixture.stage + "/long.json", fixture.root + "/actions/approved/long.json")
        #expect(executor.waitUntil { $0.standardError.contains("started long") })
        let line = executor.standardError.split(separator: "\n").first { $0.contains("started long") } ?? ""
        let child = try #require(Int32(line.split(separator: " ").last ?? ""))
        #expect(kill(child, 0) == 0)
        kill(executor.pid, SIGKILL)
        _ = executor.waitForExit(timeout: 5)
        // The kernel kills the child with its parent (PR_SET_PDEATHSIG); it is reaped by init.
        let deadline = Date().addingTimeInterval(3)
        func alive() -> Bool {
            guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
            return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
        }
        while alive() && Date() < deadline { usleep(20_000) }
        #expect(!alive(), "the action's child outlived the executor")
        #expect(names(fixture.root + "/actions/running") == ["long.json"])

        let restarted = try HomelabProcess(["executor"], environment: environment)
        #expect(restarted.waitUntil { $0.standardError.contains("watching") })
        #expect(names(fixture.root + "/actions/failed") == ["long.json"])
        let data = FileManager.default.contents(atPath: fixture.root + "/actions/failed/long.json") ?? Data()
        let result = ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any])?["result"] as? [String: Any]
        #expect((result?["error"] as? String)?.hasPrefix("interrupted") == true)
        kill(restarted.pid, SIGTERM)
        #expect(restarted.waitForExit(timeout: 3) == 0)
    }
}
