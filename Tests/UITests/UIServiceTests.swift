#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import FSWatch
import HomelabCore
@testable import UI

/// A UI service on its own loop thread over a temporary runtime root.
final class UIFixture: @unchecked Sendable {
    let root: RuntimeRoot
    let base: String
    private(set) var port: UInt16 = 0
    private var handle: StopHandle?
    private let done = DispatchSemaphore(value: 0)
    let client: TestServer.Type = TestServer.self

    init(protectReads: Bool = false) throws {
        var template = Array("/dev/shm/ui.XXXXXX".utf8CString)
        base = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        root = RuntimeRoot(base + "/root")
        try root.create()
        let ready = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var started: (UInt16, StopHandle)?
        let configuration = try Configuration(environment: ["HOMELAB_ROOT": root.path, "HOMELAB_HEARTBEAT_SECONDS": "5"])
        var settings = UIService.Settings()
        settings.address = "127.0.0.1:0"
        settings.token = "s3cret"
        settings.protectReads = protectReads
        let frozen = settings
        let done = self.done
        Thread.detachNewThread {
            let reactor = try! Reactor()
            let ui = UIService(configuration: configuration, logger: Logger(service: "ui", level: .error), settings: frozen)
            try! ui.start(on: reactor)
            started = (ui.port, reactor.stopHandle)
            ready.signal()
            try? reactor.run()
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
        try? FileManager.default.removeItem(atPath: base)
    }

    func connect() -> Int32 { connectLoopback(port) }

    /// One request on its own connection; returns (status, headers+body text).
    func request(_ method: String, _ path: String, headers: [String] = [], body: String = "") -> (Int, String) {
        let fd = connect()
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

    /// Appends events to the log as the observer would.
    func log(_ range: ClosedRange<Int>, data: String = "{}") {
        let folder = root.events + "/2026-11-26"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var lines = ""
        for seq in range {
            lines += #"{"specversion":"1.0","id":"e\#(seq)","source":"test","type":"custom.tick","time":"2026-11-26T15:00:00Z","data":\#(data),"seq":\#(seq),"receivedAt":"2026-11-26T15:00:00.000Z"}"# + "\n"
        }
        let handle = FileHandle(forWritingAtPath: folder + "/000000000001.jsonl") ?? {
            _ = FileManager.default.createFile(atPath: folder + "/000000000001.jsonl", contents: nil)
            return FileHandle(forWritingAtPath: folder + "/000000000001.jsonl")!
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
}

@Suite(.serialized) struct UIServiceTests {
    @Test func summaryHasTheFieldsOfTheContract() throws {
        let ui = try UIFixture()
        ui.pending("a1")
        ui.log(1...3)
        let (status, response) = ui.request("GET", "/summary")
        #expect(status == 200)
        let body = response.components(separatedBy: "\r\n\r\n")[1]
        let summary = try JSONSerialization.jsonObject(with: Data(body.utf8)) as! [String: Any]
        #expect(Set(summary.keys) == ["generatedAt", "world", "drift", "actions", "services", "lastEvent"])
        #expect((summary["actions"] as? [String: Int])?["pending"] == 1)
        #expect(Set((summary["services"] as? [String: Any])?.keys ?? [:].keys) == ["observer", "supervisor", "executor", "ui"])
        #expect((summary["lastEvent"] as? [String: Any])?["seq"] as? Int == 3)
        #expect(ui.request("GET", "/healthz").0 == 200)
        #expect(ui.request("GET", "/metrics").1.contains("homelab_actions{state=\"pending\"} 1"))
        #expect(ui.request("GET", "/api/world/../../etc/passwd").0 == 404)
        #expect(ui.request("GET", "/").1.contains("Action Queue"))
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
        let events = try FileManager.default.contentsOfDirectory(atPath: ui.root.inbox).filter { !$0.hasPrefix(".") }
        let event = try JSONSerialization.jsonObject(with: FileManager.default.contents(atPath: ui.root.inbox + "/" + events[0])!) as! [String: Any]
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
        let ui = try UIFixture()
        let stalled = ui.stream()
        defer { close(stalled) }
        var small: Int32 = 4096
        setsockopt(stalled, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        let healthy = ui.stream()
        defer { close(healthy) }
        _ = ui.read(healthy, timeout: 1) { $0.contains("event: summary") }
        for id in 0..<100 { ui.pending("p\(id)") }  // one burst of queue changes
        let burst = ui.read(healthy, timeout: 2) { $0.contains("event: action") }
        #expect(burst.components(separatedBy: "event: action").count - 1 <= 3, "a burst of 100 changes is a few messages, not 100")
        // 15 MB of events: past what the kernel buffers for the stalled client plus its
        // 4 MiB backlog limit, while the healthy one reads as they come.
        nonisolated(unsafe) var received = ""
        // A reader that keeps up: it only looks for the last id in what just arrived.
        let reader = Thread {
            let want = Array("id: 250\n".utf8)
            var window: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline {
                var poller = pollfd(fd: healthy, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, 50) > 0 else { continue }
                let n = buffer.withUnsafeMutableBytes { recv(healthy, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
                window = Array(window.suffix(want.count)) + buffer[0..<n]
                if window.firstRange(of: want) != nil {
                    received = "id: 250\n"
                    break
                }
            }
        }
        reader.start()
        let padding = "\"" + String(repeating: "x", count: 60_000) + "\""
        for block in 0..<25 {
            ui.log((block * 10 + 1)...(block * 10 + 10), data: padding)
            usleep(40_000)
        }
        while reader.isExecuting { usleep(10_000) }
        #expect(received.contains("id: 250\n"), "the healthy client got everything")
        // The stalled one was cut off: after what its buffers held, the server closed it.
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var ended = false
        let deadline = Date().addingTimeInterval(10)
        while !ended && Date() < deadline {
            var poller = pollfd(fd: stalled, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else { continue }
            ended = recv(stalled, &chunk, chunk.count, 0) <= 0
        }
        #expect(ended, "the stalled client is still connected")
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
