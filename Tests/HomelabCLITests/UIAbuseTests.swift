#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport

/// One hostile client per class against the real `homelab ui` (SPEC §7: no client's behaviour
/// may slow the answers to another), each while a well-behaved client — from another address —
/// times `/healthz` on fresh connections. The p99 per class is printed; the assertion is a
/// bound only a stall would break (a busy 2-core debug build is slow, not stalled), plus that
/// every health check was answered and the UI's RSS stayed bounded.
@Suite(.serialized, .timeLimit(.minutes(3))) struct UIAbuseTests {
    static let stallBound = 1.0
    static let rssBoundKB = 300 << 10

    @Test func hostileClientsDoNotSlowAWellBehavedOne() throws {
        let fixture = try RuntimeFixture()
        try writeLog(fixture.root, events: 3000)
        // A lower open-file limit, so the descriptor class reaches it (prlimit execs: same pid).
        let launcher = FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit") ? ["/usr/bin/prlimit", "--nofile=1024:1024"] : []
        let ui = try HomelabProcess(["ui"], environment: fixture.environment.merging(["HOMELAB_UI_ADDR": "127.0.0.1:0", "HOMELAB_UI_TOKEN": "t"]) { $1 }, launcher: launcher)
        #expect(ui.waitUntil { $0.standardError.contains("listening on 127.0.0.1:") })
        let port = try #require(UInt16(ui.standardError.components(separatedBy: "listening on 127.0.0.1:").last?.prefix { $0.isNumber } ?? ""))

        var report: [String] = []
        func measure(_ name: String, _ hostile: () -> [Int32]) {
            let held = hostile()
            defer { held.forEach { close($0) } }
            let latencies = Probe.healthz(port: port, seconds: 2)
            let answered = latencies.compactMap { $0 }
            let sorted = answered.sorted()
            let p99 = sorted.isEmpty ? .infinity : sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))]
            let rss = Probe.rssKB(ui.pid)
            report.append(String(format: "%@: healthz p99 %.1f ms, max %.1f ms over %d checks, UI RSS %d MiB", name, p99 * 1000, (sorted.last ?? 0) * 1000, latencies.count, rss >> 10))
            #expect(answered.count == latencies.count && !latencies.isEmpty, "\(name): \(latencies.count - answered.count) of \(latencies.count) health checks unanswered")
            #expect(p99 < Self.stallBound, "\(name): p99 \(p99) s")
            #expect(rss > 0 && rss < Self.rssBoundKB, "\(name): RSS \(rss) kB")
        }

        measure("none") { [] }
        measure("pipelining flood, never reading") {
            let fd = Probe.connect(port, from: "127.0.0.3", nonBlocking: true)
            let request = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
            let flood = Array([[UInt8]](repeating: request, count: (4 << 20) / request.count).joined())
            var sent = 0
            let deadline = Date().addingTimeInterval(1)
            while sent < flood.count && Date() < deadline {
                let n = flood[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n > 0 { sent += n } else { usleep(1000) }
            }
            return [fd]
        }
        measure("8 SSE replays from 0, never reading") {
            (0..<8).map { _ in
                let fd = Probe.connect(port, from: "127.0.0.4", nonBlocking: false)
                Probe.send(fd, "GET /stream?lastEventId=0 HTTP/1.1\r\nHost: x\r\n\r\n")
                return fd
            }
        }
        measure("descriptors: connections until refused") {
            // From several addresses (each may hold 256), past the open-file limit.
            var held: [Int32] = []
            for address in 1...6 {
                for _ in 0..<200 { held.append(Probe.connect(port, from: "127.0.1.\(address)", nonBlocking: true)) }
            }
            usleep(200_000)
            return held
        }
        measure("slow headers on kept connections") {
            let held = (0..<64).map { _ in Probe.connect(port, from: "127.0.0.5", nonBlocking: false) }
            for fd in held {
                Probe.send(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                Probe.send(fd, "GET /healthz HTTP/1.1\r\nX-Slow: ")
            }
            return held
        }
        print("UI under abuse (\(launcher.isEmpty ? "default" : "1024") open files):\n  " + report.joined(separator: "\n  "))
        // Still answering at the end.
        #expect(Probe.healthz(port: port, seconds: 0.2).allSatisfy { $0 != nil })
        kill(ui.pid, SIGTERM)
        #expect(ui.waitForExit(timeout: 5) == 0)
    }

    /// `events` logged events of about 2 KiB each, as the observer writes them.
    private func writeLog(_ root: String, events: Int) throws {
        let folder = root + "/events/2026-11-26"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let padding = String(repeating: "x", count: 2000)
        var text = ""
        for seq in 1...events {
            text += #"{"specversion":"1.0","id":"e\#(seq)","source":"test","type":"custom.tick","time":"2026-11-26T15:00:00Z","data":{"pad":"\#(padding)"},"seq":\#(seq),"receivedAt":"2026-11-26T15:00:00.000Z"}"# + "\n"
        }
        try text.write(toFile: folder + "/000000000001.jsonl", atomically: false, encoding: .utf8)
    }
}

/// The test's side of the wire: blocking or not, bound to a chosen loopback address.
enum Probe {
    static func connect(_ port: UInt16, from source: String, nonBlocking: Bool) -> Int32 {
        connectLoopback(port, from: source, nonBlocking: nonBlocking)
    }

    static func send(_ fd: Int32, _ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// `GET /healthz` on a fresh connection from 127.0.0.2 every 20 ms for `seconds`: each
    /// one's time to the whole answer, nil for one not answered within 5 s.
    static func healthz(port: UInt16, seconds: Double) -> [Double?] {
        var results: [Double?] = []
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            let started = Date()
            let fd = connect(port, from: "127.0.0.2", nonBlocking: false)
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            send(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            var answer: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
                answer += buffer[0..<n]
            }
            close(fd)
            let text = String(decoding: answer, as: UTF8.self)
            results.append(text.hasPrefix("HTTP/1.1 200 ") && text.hasSuffix("ok\n") ? Date().timeIntervalSince(started) : nil)
            usleep(20_000)
        }
        return results
    }

    static func rssKB(_ pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
    }
}
