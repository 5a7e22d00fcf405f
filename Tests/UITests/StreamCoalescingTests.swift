#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport
import FSWatch
import HomelabCore
@testable import UI

/// Coalescing, checked without depending on timing: the UI runs on a loop this test turns, so
/// a burst happens entirely while the loop is not running, as on a loop that is busy.
@Suite(.serialized, .timeLimit(.minutes(2))) struct StreamCoalescingTests {
    @Test func aBurstBetweenTwoTurnsIsOneMessagePerKind() throws {
        let folder = TemporaryFolder("coalesce")
        let root = RuntimeRoot(folder.path + "/root")
        try root.create()
        let reactor = try Reactor()
        defer { reactor.shutdown() }
        var settings = UIService.Settings()
        settings.address = "127.0.0.1:0"
        settings.token = "t"
        let configuration = try Configuration(environment: ["HOMELAB_ROOT": root.path, "HOMELAB_HEARTBEAT_SECONDS": "3600"])
        let ui = UIService(configuration: configuration, logger: Logger(service: "ui", level: .error, mirrorToStandardError: false), settings: settings)
        try ui.start(on: reactor)
        defer { ui.shutdown() }

        let client = connectLoopback(ui.port, nonBlocking: true)
        defer { close(client) }
        var received = ""
        func take() {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
                guard n > 0 else { return }
                received += String(decoding: buffer[0..<n], as: UTF8.self)
            }
        }
        func pump(until done: () -> Bool) throws -> Bool {
            try reactor.run(until: { take(); return done() }, timeout: .seconds(10))
        }
        _ = Array("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n".utf8).withUnsafeBytes { send(client, $0.baseAddress, $0.count, 0) }
        #expect(try pump { received.contains("event: summary") })
        received = ""

        // The loop is not running: the whole burst is one batch of watch events when it does.
        for id in 0..<100 {
            try AtomicFile.write(#"{"id":"b\#(id)"}"#, to: root.action("b\(id)", in: .pending), durability: .none)
        }
        #expect(try pump { (0..<100).allSatisfy { received.contains("\"b\($0)\"") } }, "a change was dropped")
        try reactor.run(for: .milliseconds(100))  // anything that would follow
        take()
        #expect(received.components(separatedBy: "event: action\n").count - 1 == 1, "\(received.components(separatedBy: "event: action\n").count - 1) messages for one burst")
    }
}
