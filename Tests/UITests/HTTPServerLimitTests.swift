#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport
import FSWatch
@testable import UI

/// Descriptors and connections: the caps, eviction at the cap, and running out of descriptors.
@Suite(.serialized, .timeLimit(.minutes(2))) struct HTTPServerLimitTests {
    private func send(_ fd: Int32, _ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Whether the server closed `fd` (EOF within `timeout`).
    private func closedByServer(_ fd: Int32, timeout: Int32 = 1000) -> Bool {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, timeout) > 0 else { return false }
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_DONTWAIT)) <= 0
    }

    @Test func onePeerCannotHoldMoreThanItsShareButOthersAreServed() throws {
        var settings = HTTPServer.Settings()
        settings.maxConnectionsPerPeer = 4
        let server = try TestServer(settings: settings)
        let held = (0..<4).map { _ in connectLoopback(server.port) }
        defer { held.forEach { close($0) } }
        usleep(100_000)
        let extra = connectLoopback(server.port)
        defer { close(extra) }
        #expect(closedByServer(extra), "a fifth connection from the same address is refused")
        let other = connectLoopback(server.port, from: "127.0.0.2")
        defer { close(other) }
        send(other, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(readLoopback(other, timeout: 1, until: { $0.hasSuffix("hello you\n") }).hasPrefix("HTTP/1.1 200 "))
        send(held[0], "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(readLoopback(held[0], timeout: 1, until: { $0.hasSuffix("hello you\n") }).hasPrefix("HTTP/1.1 200 "))
    }

    @Test func atTheCapTheOldestIdleConnectionMakesRoomForANewClient() throws {
        var settings = HTTPServer.Settings()
        settings.maxConnections = 8
        let server = try TestServer(settings: settings)
        var held: [Int32] = []
        for _ in 0..<8 {
            held.append(connectLoopback(server.port))
            usleep(5_000)  // accepted in this order
        }
        defer { held.forEach { close($0) } }
        // One of them is busy (a request half sent): never the one evicted.
        send(held[1], "GET /hello HTTP/1.1\r\n")
        usleep(50_000)
        let response = server.exchange("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(response.hasPrefix("HTTP/1.1 200 "), "a new client at the cap is served: \(response)")
        #expect(closedByServer(held[0]), "the oldest idle connection was closed for it")
        #expect(!closedByServer(held[1], timeout: 100), "a connection mid-request is not idle")
        // With no idle one left, the one longest in its header block goes.
        let extra = connectLoopback(server.port)
        defer { close(extra) }
        for fd in held[2...] + [extra] { send(fd, "GET /hello HTTP/1.1\r\n") }
        usleep(50_000)
        #expect(server.exchange("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").hasPrefix("HTTP/1.1 200 "))
        #expect(closedByServer(held[1]), "the slowest sender made room")
    }

    @Test func runningOutOfDescriptorsPausesAcceptingInsteadOfSpinning() throws {
        let server = try TestServer()
        #expect(server.exchange("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").hasPrefix("HTTP/1.1 200 "))
        // The clients' sockets exist before the limit drops; connecting them takes no descriptor.
        let clients = (0..<24).map { _ in socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0) }
        defer { clients.forEach { close($0) } }
        var saved = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved)
        let open = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).count
        var low = saved
        low.rlim_cur = rlim_t(open + 4)
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &low)
        defer { setrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = server.port.bigEndian
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        for fd in clients {
            _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        // The server now holds a few and has run out: it must wait, not spin on EMFILE.
        var before = rusage(), after = rusage()
        getrusage(RUSAGE_SELF.rawValue, &before)
        usleep(500_000)
        getrusage(RUSAGE_SELF.rawValue, &after)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        let cpu = seconds(after.ru_utime) + seconds(after.ru_stime) - seconds(before.ru_utime) - seconds(before.ru_stime)
        print("CPU while out of descriptors: \(String(format: "%.3f", cpu)) s in 0.5 s")
        #expect(cpu < 0.25, "the accept loop spun: \(cpu) s of CPU in 0.5 s")
        // Closing the served clients frees descriptors; the waiting ones are then served.
        for fd in clients.prefix(4) { shutdown(fd, Int32(SHUT_RDWR)) }
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved)
        let last = clients[clients.count - 1]
        send(last, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(readLoopback(last, timeout: 2, until: { $0.hasSuffix("hello you\n") }).hasPrefix("HTTP/1.1 200 "))
    }
}
