#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport
import FSWatch
import HomelabCore
@testable import UI
import Observer
import Executor

/// A UI service on its own loop thread over a temporary runtime root.
final class UIFixture: @unchecked Sendable {
    let root: RuntimeRoot
    private let folder = TemporaryFolder("ui")
    var base: String { folder.path }
    private(set) var port: UInt16 = 0
    private var handle: StopHandle?
    private let done = DispatchSemaphore(value: 0)
    let client: TestServer.Type = TestServer.self

    /// `observer`: an observer on the same loop, for what needs the log written (`POST /api/events`).
    /// `executor`: an executor too, reading the catalog in `inventory` (the agents' actions end to end).
    init(protectReads: Bool = false, sendTimeout: Duration = .seconds(60), observer: Bool = false, ingestWait: Duration = .seconds(30),
         agentLease: Duration = .seconds(60), executor: Bool = false) throws {
        root = RuntimeRoot(folder.path + "/root")
        try root.create()
        makeFolders(folder.path + "/repo/inventory/actions")
        let ready = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var started: (UInt16, StopHandle)?
        let configuration = try Configuration(environment: ["HOMELAB_ROOT": root.path, "HOMELAB_REPO": folder.path + "/repo", "HOMELAB_HEARTBEAT_SECONDS": "5"])
        var settings = UIService.Settings()
        settings.address = "127.0.0.1:0"
        settings.token = "s3cret"
        settings.protectReads = protectReads
        settings.http.sendTimeout = sendTimeout
        settings.ingestWait = ingestWait
        settings.agentLease = agentLease
        let frozen = settings
        let done = self.done
        Thread.detachNewThread {
            let reactor = try! Reactor()
            let observerService = observer ? ObserverService(configuration: configuration, logger: Logger(service: "observer", level: .error)) : nil
            try! observerService?.start(on: reactor)
            let executorService = executor ? ExecutorService(configuration: configuration, logger: Logger(service: "executor", level: .error)) : nil
            try! executorService?.start(on: reactor)
            let ui = UIService(configuration: configuration, logger: Logger(service: "ui", level: .error), settings: frozen)
            try! ui.start(on: reactor)
            started = (ui.port, reactor.stopHandle)
            ready.signal()
            try? reactor.run()
            observerService?.shutdown()
            executorService?.shutdown()
            ui.server?.close()
            reactor.shutdown()
            done.signal()
        }
        ready.wait()
        (port, handle) = started!
    }

    deinit {
        handle?.stop()
        done.wait()
    }

    var inventory: String { folder.path + "/repo/inventory" }

    func connect() -> Int32 { connectLoopback(port) }

    /// One request on its own connection; returns (status, headers+body text).
    func request(_ method: String, _ path: String, headers: [String] = [], body: String = "", from source: String? = nil) -> (Int, String) {
        let fd = connectLoopback(port, from: source)
        defer { close(fd) }
        var text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for header in headers { text += header + "\r\n" }
        if !body.isEmpty || method == "POST" { text += "Content-Length: \(body.utf8.count)\r\n" }
        text += "\r\n" + body
        _ = Array(text.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        let response = read(fd, timeout: 3, until: { _ in false })
        let status = Int(response.split(separator: " ").dropFirst().first ?? "") ?? 0
        return (status, response)
    }

    func read(_ fd: Int32, timeout: Double, until done: (String) -> Bool) -> String {
        readLoopback(fd, timeout: timeout, until: done)
    }

    func pending(_ id: String) {
        try! AtomicFile.write(#"{"id":"\#(id)","action":"docker-start","resource":"container/nas/x","args":{},"preview":["docker","start","x"]}"#, to: root.actions(.pending) + "/\(id).json", durability: .none)
    }

    /// Many pending actions at once: written aside, then renamed in, so the burst takes
    /// microseconds however busy the machine is.
    func pendingBurst(_ ids: [String]) {
        let staging = base + "/staging"
        try! FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        for id in ids {
            try! AtomicFile.write(#"{"id":"\#(id)","action":"docker-start","resource":"container/nas/x","args":{},"preview":["docker","start","x"]}"#, to: staging + "/\(id).json", durability: .none)
        }
        for id in ids { rename(staging + "/\(id).json", root.actions(.pending) + "/\(id).json") }
    }

    /// Appends events to the log as the observer would, to the segment that starts at
    /// `segment` on `day`.
    func log(_ range: ClosedRange<Int>, data: String = "{}", day: String = "2026-11-26", segment: Int = 1) {
        let folder = root.events + "/" + day
        let file = folder + "/" + String(format: "%012d.jsonl", segment)
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var lines = ""
        for seq in range {
            lines += #"{"specversion":"1.0","id":"e\#(seq)","source":"test","type":"custom.tick","time":"2026-11-26T15:00:00Z","data":\#(data),"seq":\#(seq),"receivedAt":"2026-11-26T15:00:00.000Z"}"# + "\n"
        }
        let handle = FileHandle(forWritingAtPath: file) ?? {
            _ = FileManager.default.createFile(atPath: file, contents: nil)
            return FileHandle(forWritingAtPath: file)!
        }()
        handle.seekToEndOfFile()
        handle.write(Data(lines.utf8))
        handle.closeFile()
    }

    func stream(_ extraHeaders: [String] = [], path: String = "/stream") -> Int32 {
        let fd = connect()
        var text = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
        for header in extraHeaders { text += header + "\r\n" }
        text += "\r\n"
        _ = Array(text.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        return fd
    }

    /// A stream that reads nothing: its receive buffer kept small (set before connecting, so
    /// the window stays small too).
    func stalledStream(_ extraHeaders: [String] = [], path: String = "/stream") -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var small: Int32 = 4096
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var text = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
        for header in extraHeaders { text += header + "\r\n" }
        text += "\r\n"
        _ = Array(text.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        return fd
    }

    /// The most bytes the server ever queued for one SSE client.
    func maxQueuedBytes() -> Int? {
        let line = request("GET", "/metrics").1.split(separator: "\n").first { $0.hasPrefix("homelab_sse_max_queued_bytes ") }
        return line.flatMap { Int($0.split(separator: " ").last ?? "") }
    }

    /// Whether the server resets `fd` within `timeout`. Nothing is read: reading would be
    /// the progress that keeps the send timeout away.
    func isReset(_ fd: Int32, within timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var poller = pollfd(fd: fd, events: 0, revents: 0)
            if poll(&poller, 1, 50) > 0 && poller.revents & Int16(POLLERR | POLLHUP) != 0 { return true }
        }
        return false
    }
}

/// Reads an SSE stream on its own thread, keeping every `id:` in order, until `last` arrives,
/// the server ends the stream, or `deadline` passes.
final class IDCollector: @unchecked Sendable {
    private let thread: Thread

    init(_ fd: Int32, until last: Int, deadline seconds: Double = 120, keepText: Bool = false) {
        let box = Box()
        thread = Thread {
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            let deadline = Date().addingTimeInterval(seconds)
            let prefix = Array("id: ".utf8)
            reading: while Date() < deadline {
                var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, 50) > 0 else { continue }
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
                pending += buffer[0..<n]
                if keepText { box.text += buffer[0..<n] }
                // Whole lines only; a line cut by the read waits for the rest.
                guard let end = pending.lastIndex(of: 0x0A) else { continue }
                for line in pending[...end].split(separator: 0x0A) where line.starts(with: prefix) {
                    guard let id = Int(String(decoding: line.dropFirst(prefix.count), as: UTF8.self)) else { continue }
                    box.ids.append(id)
                    if id >= last { break reading }
                }
                pending.removeSubrange(...end)
            }
            box.done.signal()
        }
        self.box = box
        thread.start()
    }

    private let box: Box
    private final class Box: @unchecked Sendable {
        var ids: [Int] = []
        var text: [UInt8] = []
        let done = DispatchSemaphore(value: 0)
    }

    /// Waits for the reader to stop; its ids and text.
    func wait() -> (ids: [Int], text: String) {
        box.done.wait()
        return (box.ids, String(decoding: box.text, as: UTF8.self))
    }
}

@Suite(.serialized, .timeLimit(.minutes(5))) struct UIServiceTests {
    @Test func summaryHasTheFieldsOfTheContract() throws {
        let ui = try UIFixture()
        ui.pending("a1")
        ui.log(1...3)
        let (status, response) = ui.request("GET", "/summary")
        #expect(status == 200)
        let body = response.components(separatedBy: "\r\n\r\n")[1]
        let summary = try JSONSerialization.jsonObject(with: Data(body.utf8)) as! [String: Any]
        #expect(Set(summary.keys) == ["generatedAt", "world", "drift", "actions", "services", "nodes", "lastEvent", "ingest"])
        #expect((summary["actions"] as? [String: Int])?["pending"] == 1)
        #expect(Set((summary["services"] as? [String: Any])?.keys ?? [:].keys) == ["observer", "supervisor", "executor", "ui"])
        #expect((summary["lastEvent"] as? [String: Any])?["seq"] as? Int == 3)
        #expect(ui.request("GET", "/healthz").0 == 200)
        #expect(ui.request("GET", "/metrics").1.contains("homelab_actions{state=\"pending\"} 1"))
        #expect(ui.request("GET", "/api/world/../../etc/passwd").0 == 404)
        #expect(ui.request("GET", "/").1.contains("Needs you"))
    }

    @Test func approvingNeedsTheTokenAndRefusesCrossSiteRequests() throws {
        let ui = try UIFixture()
        ui.pending("a1")
        #expect(ui.request("POST", "/api/actions/a1/approve").0 == 401)
        #expect(ui.request("POST", "/api/actions/a1/approve", headers: ["Authorization: Bearer wrong"]).0 == 401)
        #expect(ui.request("POST", "/api/actions/a1/approve", headers: ["Authorization: Bearer s3cret", "Sec-Fetch-Site: cross-site"]).0 == 403)
        #expect(ui.request("POST", "/api/actions/a1/approve", headers: ["Authorization: Bearer s3cret", "Origin: https://evil.example"]).0 == 403)
        #expect(ui.request("GET", "/api/actions/a1/approve").0 == 405)
        let (approved, _) = ui.request("POST", "/api/actions/a1/approve", headers: ["Authorization: Bearer s3cret", "Origin: http://127.0.0.1:\(ui.port)", "X-Operator: oskar"])
        #expect(approved == 200)
        #expect(FileManager.default.fileExists(atPath: ui.root.actions(.approved) + "/a1.json"))
        #expect(ui.request("POST", "/api/actions/a1/reject", headers: ["Authorization: Bearer s3cret"]).0 == 409)
        #expect(ui.request("POST", "/api/actions/zz/approve", headers: ["Authorization: Bearer s3cret"]).0 == 404)
        let events = try FileManager.default.contentsOfDirectory(atPath: ui.root.audit).filter { !$0.hasPrefix(".") }
        let event = try JSONSerialization.jsonObject(with: FileManager.default.contents(atPath: ui.root.audit + "/" + events[0])!) as! [String: Any]
        #expect(event["type"] as? String == "action.approved")
        #expect((event["data"] as? [String: Any])?["actor"] as? String == "oskar")
        #expect(((event["data"] as? [String: Any])?["remote"] as? String)?.hasPrefix("127.0.0.1:") == true)
    }

    @Test func theSessionCookieStandsInForTheToken() throws {
        let ui = try UIFixture(protectReads: true)
        ui.pending("a1")
        #expect(ui.request("GET", "/summary").0 == 401)
        #expect(ui.request("POST", "/api/session", body: "wrong").0 == 401)
        let (status, response) = ui.request("POST", "/api/session", headers: ["Sec-Fetch-Site: same-origin"], body: "s3cret")
        #expect(status == 204)
        let setCookie = try #require(response.split(separator: "\r\n").first { $0.hasPrefix("Set-Cookie: ") })
        #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && !setCookie.contains("s3cret"))
        let cookie = "Cookie: " + String(setCookie.dropFirst("Set-Cookie: ".count).split(separator: ";")[0])
        #expect(ui.request("GET", "/summary", headers: [cookie]).0 == 200)
        let stream = ui.stream([cookie])
        defer { close(stream) }
        #expect(ui.read(stream, timeout: 2) { $0.contains("event: summary") }.hasPrefix("HTTP/1.1 200 OK"))
        #expect(ui.request("POST", "/api/actions/a1/approve", headers: [cookie, "Sec-Fetch-Site: same-origin"]).0 == 200)
    }

    @Test func eventsArriveLiveAndAreReplayedAfterLastEventID() throws {
        let ui = try UIFixture()
        ui.log(1...5)
        let replaying = ui.stream(["Last-Event-ID: 2"])
        defer { close(replaying) }
        let first = ui.read(replaying, timeout: 2) { $0.contains("id: 5\n") }
        #expect(first.contains("Content-Type: text/event-stream") && first.contains("X-Accel-Buffering: no"))
        #expect(first.contains("id: 3\n") && first.contains("id: 4\n") && !first.contains("id: 2\n"))
        let live = ui.stream(path: "/stream?lastEventId=5")
        defer { close(live) }
        _ = ui.read(live, timeout: 1) { $0.contains("event: summary") }
        let started = Date()
        ui.log(6...6)
        let next = ui.read(live, timeout: 2) { $0.contains("id: 6\n") }
        #expect(next.contains("id: 6\nevent: event\ndata: {"))
        #expect(Date().timeIntervalSince(started) < 1)
        #expect(ui.read(replaying, timeout: 2) { $0.contains("id: 6\n") }.contains("id: 6\n"))
    }

    @Test func burstsAreCoalescedAndAStalledClientDoesNotHoldTheOthers() throws {
        let ui = try UIFixture(sendTimeout: .seconds(2))
        let stalled = ui.stalledStream()
        defer { close(stalled) }
        let healthy = ui.stream()
        defer { close(healthy) }
        _ = ui.read(healthy, timeout: 5) { $0.contains("event: summary") }
        ui.pendingBurst((0..<100).map { "p\($0)" })
        let named = { (text: String) in (0..<100).allSatisfy { text.contains("\"p\($0)\"") } }
        let burst = ui.read(healthy, timeout: 10, until: named)
        #expect(named(burst), "every change is named: coalesced, not dropped")
        // How many loop turns a burst spans depends on how busy the machine is; one message per
        // change would be 100, and coalescing per turn keeps it far below that.
        #expect(burst.components(separatedBy: "event: action").count - 1 < 50, "a burst of 100 changes is a few messages, not 100")
        // 15 MB of events, far past what the kernel buffers for the stalled client, while the
        // healthy one reads at whatever pace this machine allows.
        let reader = IDCollector(healthy, until: 250)
        let padding = "\"" + String(repeating: "x", count: 60_000) + "\""
        for block in 0..<25 {
            ui.log((block * 10 + 1)...(block * 10 + 10), data: padding)
            usleep(40_000)
        }
        #expect(reader.wait().ids == Array(1...250), "the healthy client got every event once, in order")
        // The stalled one held no more than back-pressure allows, and the send timeout ended it.
        #expect(ui.isReset(stalled, within: 30), "the stalled client is still connected")
        let queued = try #require(ui.maxQueuedBytes())
        #expect(queued <= EventStream.lowWater + 4 * EventStream.pageBytes, "\(queued) bytes queued for one client")
    }

    @Test func aReconnectFarBehindIsReplayedInPagesThenGoesLive() throws {
        let ui = try UIFixture(sendTimeout: .seconds(2))
        // Two segments, 8 MB: many pages, and more than the kernel holds for a client.
        let padding = "\"" + String(repeating: "y", count: 2_000) + "\""
        ui.log(1...2000, data: padding)
        ui.log(2001...4000, data: padding, day: "2026-11-27", segment: 2001)
        let stalled = ui.stalledStream(path: "/stream?lastEventId=0")
        defer { close(stalled) }
        let behind = ui.stream(["Last-Event-ID: 10"])
        defer { close(behind) }
        let replay = IDCollector(behind, until: 4000, keepText: true)
        let replayed = replay.wait()
        #expect(replayed.ids == Array(11...4000), "every missed event once, in order")
        #expect(replayed.text.components(separatedBy: "\r\n\r\n").first?.hasPrefix("HTTP/1.1 200 OK") == true)
        // The collector may have read the summary along with the last event.
        let afterReplay = replayed.text.components(separatedBy: "id: 4000\n").last ?? ""
        let summary = afterReplay.contains("event: summary") ? afterReplay : ui.read(behind, timeout: 5) { $0.contains("event: summary") }
        #expect(summary.contains("event: summary"), "the summary follows the replay")
        ui.log(4001...4001, day: "2026-11-27", segment: 2001)
        #expect(IDCollector(behind, until: 4001).wait().ids == [4001], "live after the replay, without a repeat")
        #expect(ui.isReset(stalled, within: 30), "a replay nobody reads ends by the send timeout")
        let queued = try #require(ui.maxQueuedBytes())
        #expect(queued <= EventStream.lowWater + 4 * EventStream.pageBytes, "\(queued) bytes queued for one client")
    }

    @Test func anIDTheLogNeverIssuedGoesLiveAndHugeIDsDoNotOverflow() throws {
        let ui = try UIFixture()
        ui.log(1...3)
        ui.log(4...5, day: "2026-11-27", segment: 4)
        // A tab left open across a fresh root: its id is past this log's end.
        let ahead = ui.stream(["Last-Event-ID: 999999"])
        defer { close(ahead) }
        #expect(ui.read(ahead, timeout: 5) { $0.contains("event: summary") }.contains("event: summary"))
        let largest = "9223372036854775807"
        let huge = ui.stream(path: "/stream?lastEventId=" + largest)
        defer { close(huge) }
        #expect(ui.read(huge, timeout: 5) { $0.contains("event: summary") }.contains("event: summary"))
        let hugeHeader = ui.stream(["Last-Event-ID: " + largest])
        defer { close(hugeHeader) }
        #expect(ui.read(hugeHeader, timeout: 5) { $0.contains("event: summary") }.contains("event: summary"))
        let (status, answer) = ui.request("GET", "/api/events?after=" + largest)
        #expect(status == 200 && answer.hasSuffix("\r\n\r\n[]"), "past the end is an empty list")
        #expect(ui.request("GET", "/api/events?after=9223372036854775808").0 == 400, "not a seq")
        #expect(ui.request("GET", "/api/events?after=3&limit=1000").1.hasSuffix(#""seq":5,"receivedAt":"2026-11-26T15:00:00.000Z"}]"#))
        ui.log(6...6, day: "2026-11-27", segment: 4)
        for fd in [ahead, huge, hugeHeader] {
            #expect(ui.read(fd, timeout: 5) { $0.contains("id: 6\n") }.contains("id: 6\n"), "live from the moment it connected")
        }
    }

    @Test func approveAgainstSupersedeHasOneWinnerEachTime() throws {
        let ui = try UIFixture()
        let count = 60
        for id in 0..<count { ui.pending("r\(id)") }
        let supersede = Thread {
            for id in 0..<count {
                rename(ui.root.actions(.pending) + "/r\(id).json", ui.root.actions(.superseded) + "/r\(id).json")
            }
        }
        supersede.start()
        var answers: [Int: Int] = [:]
        for id in 0..<count {
            answers[id] = ui.request("POST", "/api/actions/r\(id)/approve", headers: ["Authorization: Bearer s3cret"]).0
        }
        while supersede.isExecuting { usleep(1000) }
        for id in 0..<count {
            let approved = FileManager.default.fileExists(atPath: ui.root.actions(.approved) + "/r\(id).json")
            let superseded = FileManager.default.fileExists(atPath: ui.root.actions(.superseded) + "/r\(id).json")
            #expect(approved != superseded, "r\(id) is in exactly one place")
            #expect(answers[id] == (approved ? 200 : 409), "r\(id): answered \(answers[id]!) but approved=\(approved)")
        }
    }
}
