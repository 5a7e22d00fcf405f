#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

@Suite(.serialized, .timeLimit(.minutes(10))) struct ObserverEndToEndTests {
    @Test func tenThousandEventsReachTheLogAndTheWorld() throws {
        let fixture = try RuntimeFixture(onDisk: true)
        let observer = try fixture.observer()
        #expect(observer.waitUntil { $0.standardError.contains("watching") })
        let count = 10_000, resources = 100
        for i in 0..<count {
            fixture.drop("e\(i).json", RuntimeFixture.observed(id: "ten-\(i)", subject: "container/host\(i % resources)/app", data: #"{"n":\#(i)}"#))
        }
        #expect(fixture.waitForIdle(seq: count), "inbox left: \(fixture.inboxNames().count), checkpoint \(fixture.checkpointSeq() ?? -1)")
        kill(observer.pid, SIGTERM)
        #expect(observer.waitForExit(timeout: 2) == 0)

        let lines = fixture.logLines()
        #expect(lines.count == count)
        #expect(lines.map { $0["seq"] as? Int ?? 0 } == Array(1...count))
        #expect(lines.map { $0["id"] as? String ?? "" } == (0..<count).map { "ten-\($0)" }, "log order is arrival order")
        #expect(lines.allSatisfy { $0["receivedat"] is String && $0["receivedAt"] == nil && $0["time"] is String && $0["specversion"] as? String == "1.0" })
        let world = fixture.worldFiles()
        #expect(world.count == resources + 1)
        for host in 0..<resources {
            let data = world["container/host\(host)/app.json"] ?? Data()
            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            let last = count - resources + host
            #expect((object?["observed"] as? [String: Any])?["n"] as? Int == last)
            #expect(object?["seq"] as? Int == last + 1)
        }
        let index = try JSONSerialization.jsonObject(with: world["index.json"] ?? Data()) as? [String: Any]
        #expect(index?["seq"] as? Int == count)
        #expect((index?["byKind"] as? [String: Any])?["container"] as? Int == resources)
        #expect(observer.standardError.contains("batch: accepted"))
        let status = try JSONSerialization.jsonObject(with: FileManager.default.contents(atPath: fixture.root + "/state/observer.json") ?? Data()) as? [String: Any]
        #expect((status?["counters"] as? [String: Any])?["accepted"] as? Int == count)
    }

    @Test func badInputIsRejectedWithItsReasonAndGoodFilesGoThrough() throws {
        let fixture = try RuntimeFixture()
        // Unreadable only means something to a non-root observer, as in the image (UID 1000).
        fixture.handOver(toUID: 1000)
        let observer = try fixture.observer(launcher: ["/usr/bin/setpriv", "--reuid=1000", "--regid=1000", "--clear-groups"])
        #expect(observer.waitUntil { $0.standardError.contains("watching") }, "\(observer.standardError)")

        var good = 0
        func dropGood() {
            fixture.drop("good\(good).json", RuntimeFixture.observed(id: "good-\(good)", subject: "container/nas/app\(good)", data: "{}"))
            good += 1
        }
        let cases: [(name: String, reason: String)] = [
            ("not-json.json", "not JSON"), ("array.json", "not a JSON object"), ("no-type.json", "missing \"type\""),
            ("no-source.json", "missing \"source\""), ("bad-subject.json", "bad subject"), ("big.json", "over 1 MiB"),
            ("latin1.json", "not UTF-8"), ("link.json", "a symlink"), ("fifo.json", "a FIFO"), ("folder.json", "a directory"),
            ("secret.json", "unreadable: Permission denied (EACCES)"), ("deep.json", "too deeply nested"),
        ]
        dropGood()
        fixture.drop("not-json.json", "this is not json")
        dropGood()
        fixture.drop("array.json", "[1,2,3]")
        fixture.drop("no-type.json", #"{"source":"s"}"#)
        fixture.drop("no-source.json", #"{"type":"t"}"#)
        dropGood()
        fixture.drop("bad-subject.json", #"{"type":"resource.removed","source":"s","subject":"container/../../etc/passwd"}"#)
        fixture.drop("big.json", #"{"type":"t","source":"s","data":""# + String(repeating: "x", count: 1 << 20) + #""}"#)
        var latin1 = Array(#"{"type":"t","source":"caf"#.utf8) + [0xE9] + Array(#""}"#.utf8)
        _ = FileManager.default.createFile(atPath: fixture.stage + "/.latin1.json", contents: Data(latin1))
        rename(fixture.stage + "/.latin1.json", fixture.inbox + "/latin1.json")
        latin1.removeAll()
        dropGood()
        symlink("/etc/passwd", fixture.inbox + "/link.json")
        mkfifo(fixture.inbox + "/fifo.json", 0o644)
        // Moving a folder rewrites its "..", so the observer must own it, as when a producer
        // running as the same user made it.
        mkdir(fixture.stage + "/.folder.json", 0o755)
        chown(fixture.stage + "/.folder.json", 1000, 1000)
        rename(fixture.stage + "/.folder.json", fixture.inbox + "/folder.json")
        _ = FileManager.default.createFile(atPath: fixture.stage + "/.secret.json", contents: Data(#"{"type":"t","source":"s"}"#.utf8), attributes: [.posixPermissions: 0])
        rename(fixture.stage + "/.secret.json", fixture.inbox + "/secret.json")
        fixture.drop("deep.json", #"{"type":"t","source":"s","data":"# + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}")
        dropGood()
        fixture.drop("ignored.tmp", "a producer's temporary: not *.json, left alone")

        #expect(observer.waitUntil(timeout: 20) { _ in fixture.inboxNames() == ["ignored.tmp"] && fixture.checkpointSeq() == good },
                "inbox: \(fixture.inboxNames()); \(observer.standardError)")
        for (name, reason) in cases {
            let reasonFile = fixture.root + "/rejected/" + name + ".reason.json"
            let record = (try? JSONSerialization.jsonObject(with: FileManager.default.contents(atPath: reasonFile) ?? Data())) as? [String: Any]
            #expect((record?["reason"] as? String)?.contains(reason) == true, "\(name): \(record ?? [:])")
            #expect(record?["rejectedAt"] is String)
            var info = stat()
            #expect(lstat(fixture.root + "/rejected/" + name, &info) == 0, "\(name) itself kept in rejected/")
        }
        let ids = fixture.logLines().compactMap { $0["id"] as? String }
        #expect(ids == (0..<good).map { "good-\($0)" })
        #expect(observer.process.isRunning)
        kill(observer.pid, SIGTERM)
        #expect(observer.waitForExit(timeout: 2) == 0)
    }

    @Test func killNineAtAnyMomentLosesNothingAndLogsNothingTwice() throws {
        let fixture = try RuntimeFixture()
        let total = 20_000
        let producer = Thread {
            for i in 0..<total {
                let host = "h\(i % 20)"
                let text: String
                switch i % 20 {
                // A node of its own: a node's heartbeats within a minute of its last logged one are not logged.
                case 0: text = #"{"id":"k-\#(i)","type":"node.heartbeat","source":"agent","subject":"node/\#(host)-\#(i)"}"#
                case 1: text = #"{"id":"k-\#(i)","type":"resource.removed","source":"agent","subject":"container/\#(host)/c\#(i % 7)"}"#
                case 2: text = #"{"id":"k-\#(i)","type":"action.proposed","source":"supervisor","subject":"action/a\#(i % 50)","data":{"n":\#(i)}}"#
                case 3: text = #"{"id":"k-\#(i)","type":"resource.snapshot","source":"agent","subject":"container/\#(host)","data":{"resources":{"\#(host)/c1":{"n":\#(i)},"\#(host)/c2":{}}}}"#
                default: text = RuntimeFixture.observed(id: "k-\(i)", subject: "container/\(host)/c\(i % 7)", data: #"{"n":\#(i)}"#)
                }
                fixture.drop("k\(i).json", text, audit: i % 20 == 2)  // action.* come from the services
                if i % 4 == 0 { usleep(300) }
            }
        }
        producer.start()
        var kills = 0
        while kills < 25 {
            let observer = try fixture.observer()
            usleep(UInt32.random(in: 5_000...250_000))  // some land in start-up recovery
            kill(observer.pid, SIGKILL)
            _ = observer.waitForExit(timeout: 5)
            kills += 1
        }
        let final = try fixture.observer()
        #expect(fixture.waitForIdle(seq: total, timeout: 120), "checkpoint \(fixture.checkpointSeq() ?? -1), inbox \(fixture.inboxNames().count)")
        kill(final.pid, SIGTERM)
        #expect(final.waitForExit(timeout: 2) == 0)

        let lines = fixture.logLines()
        let ids = lines.compactMap { $0["id"] as? String }
        #expect(ids.count == total, "\(ids.count) lines for \(total) events")
        #expect(Set(ids) == Set((0..<total).map { "k-\($0)" }), "every event exactly once")
        #expect(lines.map { $0["seq"] as? Int ?? 0 } == Array(1...lines.count), "seq gap-free")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: fixture.root + "/rejected")) ?? []).isEmpty)

        // The world the kills left behind equals a rebuild from the log, byte for byte.
        let incremental = fixture.worldFiles()
        #expect(fixture.worldTemporaries().isEmpty, "temporaries left in world/: \(fixture.worldTemporaries())")
        try FileManager.default.removeItem(atPath: fixture.checkpoint)
        let rebuild = try fixture.observer()
        #expect(rebuild.waitUntil { $0.standardError.contains("rebuilt world/ from \(total) events") })
        kill(rebuild.pid, SIGTERM)
        #expect(rebuild.waitForExit(timeout: 2) == 0)
        #expect(fixture.worldFiles() == incremental)
        #expect(fixture.checkpointSeq() == total)
    }

    @Test func deletingTheCheckpointRebuildsTheSameWorld() throws {
        let fixture = try RuntimeFixture()
        let observer = try fixture.observer()
        #expect(observer.waitUntil { $0.standardError.contains("watching") })
        for i in 0..<300 {
            fixture.drop("c\(i).json", RuntimeFixture.observed(id: "c-\(i)", subject: "container/n\(i % 5)/a\(i % 13)", data: #"{"i":\#(i),"s":"é\n"}"#))
        }
        fixture.drop("hb.json", #"{"type":"node.heartbeat","source":"agent","subject":"node/n1","time":"2026-11-26T15:00:00Z"}"#)
        fixture.drop("act.json", #"{"type":"action.approved","source":"ui","subject":"action/x1","data":{"actor":"oskar"}}"#, audit: true)
        #expect(fixture.waitForIdle(seq: 302))
        kill(observer.pid, SIGTERM)
        #expect(observer.waitForExit(timeout: 2) == 0)
        let before = fixture.worldFiles()
        #expect(before.count > 60)
        try FileManager.default.removeItem(atPath: fixture.checkpoint)
        try "junk".write(toFile: fixture.world + "/container/stale.json", atomically: false, encoding: .utf8)
        let rebuild = try fixture.observer()
        #expect(rebuild.waitUntil { $0.standardError.contains("rebuilt world/ from 302 events") }, "\(rebuild.standardError)")
        kill(rebuild.pid, SIGTERM)
        #expect(rebuild.waitForExit(timeout: 2) == 0)
        #expect(rebuild.standardError.contains("rebuilding world/ from the log (no checkpoint)"))
        #expect(fixture.worldFiles() == before)
    }

    @Test func oneObserverPerRootAndEmitRoundTrip() throws {
        let fixture = try RuntimeFixture()
        let observer = try fixture.observer()
        #expect(observer.waitUntil { $0.standardError.contains("watching") })
        let (status, _, errors) = try HomelabProcess.run(["observer"], environment: fixture.environment)
        #expect(status == 1)
        #expect(errors.contains("another observer is already running on \(fixture.root)"))

        let (emitted, path, _) = try HomelabProcess.run(
            ["emit", "--type", "resource.observed", "--source", "node/nas", "--subject", "container/nas/jellyfin", "--data", #"{"state":"exited"}"#],
            environment: fixture.environment)
        #expect(emitted == 0)
        #expect(path.hasPrefix(fixture.inbox + "/") && path.hasSuffix(".json\n"))
        #expect(fixture.waitForIdle(seq: 1))
        let file = try JSONSerialization.jsonObject(with: fixture.worldFiles()["container/nas/jellyfin.json"] ?? Data()) as? [String: Any]
        #expect((file?["observed"] as? [String: Any])?["state"] as? String == "exited")

        let (refused, _, why) = try HomelabProcess.run(
            ["emit", "--type", "resource.observed", "--source", "s", "--subject", "container/../x", "--data", "{}"], environment: fixture.environment)
        #expect(refused == 2)
        #expect(why.contains("the observer would refuse this event: bad subject"))
        let (badData, _, dataWhy) = try HomelabProcess.run(["emit", "--type", "t", "--source", "s", "--data", "{nope"], environment: fixture.environment)
        #expect(badData == 2 && dataWhy.contains("--data is not JSON"))
        #expect(fixture.inboxNames().isEmpty)
        kill(observer.pid, SIGTERM)
        #expect(observer.waitForExit(timeout: 2) == 0)
    }

    @Test func aBadSettingIsOneLineAndExit2() throws {
        let (status, _, errors) = try HomelabProcess.run(["observer"], environment: ["HOMELAB_HEARTBEAT_SECONDS": "often"])
        #expect(status == 2)
        #expect(errors == "homelab: observer: HOMELAB_HEARTBEAT_SECONDS: \"often\" is not a whole number of seconds between 1 and 86400\n")
    }
}
