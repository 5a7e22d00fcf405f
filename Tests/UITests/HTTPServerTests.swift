#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport
import FSWatch
@testable import UI

/// A server on its own loop thread, answering a small allow-list of routes.
final class TestServer: @unchecked Sendable {
    let port: UInt16
    private let handle: StopHandle
    private let done = DispatchSemaphore(value: 0)

    init(settings: HTTPServer.Settings = HTTPServer.Settings()) throws {
        let ready = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: (UInt16, StopHandle)?
        nonisolated(unsafe) var failure: Error?
        let done = self.done
        Thread.detachNewThread {
            do {
                let reactor = try Reactor()
                weak var current: HTTPServer?
                let server = try HTTPServer(reactor: reactor, address: "127.0.0.1:0", settings: settings) { request, _ in
                    switch (request.method, request.path) {
                    case ("GET", "/big"): return .text(200, String(repeating: "b", count: 8191))
                    case ("GET", "/huge"): return HTTPResponse(status: 200, body: [UInt8](repeating: 0x68, count: 32 << 20))
                    case ("GET", "/stats"): return .text(200, "maxQueuedBytes=\(current?.maxQueuedBytes ?? -1) connections=\(current?.connectionCount ?? -1)")
                    case ("GET", "/hello"), ("HEAD", "/hello"): return .text(200, "hello \(request.query["name"] ?? "you")")
                    case ("POST", "/echo"): return HTTPResponse(status: 200, body: request.body)
                    case ("POST", "/nothing"): return HTTPResponse(status: 204)
                    case (_, "/hello"): return HTTPResponse(status: 405, headers: [("Allow", "GET, HEAD")])
                    default: return .text(404, "no such page")
                    }
                }
                current = server
                result = (server.port, reactor.stopHandle)
                ready.signal()
                try reactor.run()
                server.close()
                reactor.shutdown()
            } catch {
                failure = error
                ready.signal()
            }
            done.signal()
        }
        ready.wait()
        if let failure { throw failure }
        (port, handle) = result!
    }

    deinit {
        handle.stop()
        done.wait()
    }

    /// Sends raw bytes, reads until the server closes or `timeout` passes.
    func exchange(_ request: String, timeout: Double = 2, closeAfterSend: Bool = false) -> String {
        let fd = connectSocket()
        defer { Glibc.close(fd) }
        let bytes = Array(request.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if closeAfterSend { shutdown(fd, Int32(SHUT_WR)) }
        return readAll(fd, timeout: timeout)
    }

    func connectSocket() -> Int32 { connectLoopback(port) }

    func readAll(_ fd: Int32, timeout: Double) -> String { readLoopback(fd, timeout: timeout) }
}

@Suite(.serialized, .timeLimit(.minutes(3))) struct HTTPServerTests {
    @Test func answersAndKeepsTheConnectionAlive() throws {
        let server = try TestServer()
        let response = server.exchange("GET /hello?name=oskar HTTP/1.1\r\nHost: x\r\n\r\n", timeout: 0.3)
        #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(response.hasSuffix("\r\n\r\nhello oskar\n"))
        #expect(!response.contains("Connection: close"))
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let server = try TestServer()
        let response = server.exchange("GET /hello?name=a HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nbodyxGET /hello?name=c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let bodies = response.components(separatedBy: "\r\n\r\n").dropFirst().map { $0.prefix(while: { $0 != "H" }) }
        #expect(bodies == ["hello a\n", "bodyx", "hello c\n"], "\(response)")
        #expect(response.hasSuffix("hello c\n"), "closed after the third")
    }

    @Test func headMirrorsGetWithoutABody() throws {
        let server = try TestServer()
        let get = server.exchange("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let head = server.exchange("HEAD /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(head == get.components(separatedBy: "\r\n\r\n")[0] + "\r\n\r\n")
        #expect(head.contains("Content-Length: 10\r\n"))
    }

    @Test func wrongMethodIs405WithAllow() throws {
        let server = try TestServer()
        let response = server.exchange("DELETE /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(response.hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n") && response.contains("Allow: GET, HEAD\r\n"))
    }

    @Test(arguments: [
        ("GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "400", "more than one Host"),
        ("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", "400", "more than one Content-Length"),
        ("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400", "Content-Length with Transfer-Encoding"),
        ("GET /hello HTTP/1.1\r\n\r\n", "400", "no Host"),
        ("GET /hello HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n", "400", "malformed header line"),
        ("GET /hello HTTP/1.1\r\nHost: a\r\n folded: x\r\n\r\n", "400", "obsolete header line folding"),
        ("GET hello HTTP/1.1\r\nHost: a\r\n\r\n", "400", "malformed request target"),
        ("GET /hello HTTP/2.0\r\nHost: a\r\n\r\n", "400", "unsupported version"),
        ("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 999999\r\n\r\n", "413", "body over"),
        ("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", "400", "malformed Content-Length"),
    ])
    func protocolViolationsAreRefusedAndTheConnectionClosed(request: String, status: String, reason: String) throws {
        let server = try TestServer()
        let response = server.exchange(request + "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(response.hasPrefix("HTTP/1.1 \(status) "), "\(response)")
        #expect(response.contains(reason))
        #expect(response.contains("Connection: close\r\n"))
        #expect(!response.contains("hello you"), "nothing after a refused request is answered")
    }

    @Test func oversizedRequestLineAndHeadersAre414And431() throws {
        let server = try TestServer()
        let long = server.exchange("GET /" + String(repeating: "a", count: 9000) + " HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(long.hasPrefix("HTTP/1.1 414 "))
        let headers = server.exchange("GET /hello HTTP/1.1\r\nHost: a\r\n" + (0..<200).map { "X-\($0): \(String(repeating: "v", count: 100))\r\n" }.joined() + "\r\n")
        #expect(headers.hasPrefix("HTTP/1.1 431 "))
    }

    @Test func aSlowClientLosesItsSlotAtTheHeaderDeadline() throws {
        var settings = HTTPServer.Settings()
        settings.headerDeadline = .milliseconds(300)
        let server = try TestServer(settings: settings)
        let fd = server.connectSocket()
        defer { close(fd) }
        _ = "GET /hello HTTP/1.1\r\nHo".withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        let started = Date()
        let response = server.readAll(fd, timeout: 2)
        #expect(response.hasPrefix("HTTP/1.1 408 "))
        #expect(Date().timeIntervalSince(started) < 1)
    }

    @Test func unknownPathsAre404AndNothingMapsToFiles() throws {
        let server = try TestServer()
        for path in ["/../../etc/passwd", "/%2e%2e/etc/passwd", "/nope"] {
            let response = server.exchange("GET \(path) HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            #expect(response.hasPrefix("HTTP/1.1 404 "), "\(path): \(response)")
        }
    }

    @Test func manyIdleConnectionsDoNotStopOthers() throws {
        var settings = HTTPServer.Settings()
        settings.maxConnectionsPerPeer = 2000  // all from 127.0.0.1
        let server = try TestServer(settings: settings)
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = max(limit.rlim_cur, min(limit.rlim_max, 8192))
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        var idle: [Int32] = []
        for _ in 0..<1000 { idle.append(server.connectSocket()) }
        defer { idle.forEach { close($0) } }
        #expect(idle.allSatisfy { $0 >= 0 })
        // A request on one of the idle ones is still answered.
        _ = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n".withCString { send(idle[500], $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        #expect(server.readAll(idle[500], timeout: 0.5).hasPrefix("HTTP/1.1 200 "))
        let response = server.exchange("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(response.hasPrefix("HTTP/1.1 200 "))
    }

    /// A number the test server reports at `/stats`.
    private func stat(_ server: TestServer, _ name: String) -> Int {
        let text = server.exchange("GET /stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        guard let range = text.range(of: name + "=") else { return -1 }
        return Int(text[range.upperBound...].prefix { $0.isNumber || $0 == "-" }) ?? -1
    }

    @Test func aClientThatPipelinesWithoutReadingHoldsTheServerToABoundedQueue() throws {
        let server = try TestServer()
        let fd = server.connectSocket()
        defer { close(fd) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        let request = Array("GET /big HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        let flood = Array([[UInt8]](repeating: request, count: 1 << 20 / request.count).joined())
        // Sends until the server stops taking requests (the kernel's buffers fill) or 1 MiB is out.
        var sent = 0
        let deadline = Date().addingTimeInterval(2)
        while sent < flood.count && Date() < deadline {
            let n = flood[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 { sent += n } else { usleep(1000) }
        }
        usleep(200_000)
        let queued = stat(server, "maxQueuedBytes")
        // 1 MiB of requests for 8 KiB each would be 300 MB of answers; the server holds the
        // pause threshold (256 KiB) plus one answer.
        #expect(queued > 0 && queued <= (256 << 10) + (16 << 10), "\(queued) bytes queued after \(sent) bytes of requests")
        // The answers still come, in order, once the client reads.
        let text = server.readAll(fd, timeout: 0.5)
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
    }
}
