#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport
import FSWatch
@testable import UI

/// HTTP/1.1 as real clients expect it (SPEC §7): what curl, browsers, proxies and `nc` do.
@Suite(.serialized, .timeLimit(.minutes(2))) struct HTTPConformanceTests {
    private func send(_ fd: Int32, _ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    @Test func anHTTP10ClientAskingForKeepAliveIsToldItIsKept() throws {
        let server = try TestServer()
        let fd = server.connectSocket()
        defer { close(fd) }
        send(fd, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        let first = readLoopback(fd, timeout: 1, until: { $0.hasSuffix("hello you\n") })
        #expect(first.contains("\r\nConnection: keep-alive\r\n"), "\(first)")
        send(fd, "GET /hello?name=again HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(readLoopback(fd, timeout: 1, until: { $0.hasSuffix("hello again\n") }).hasSuffix("hello again\n"))
        let plain = server.exchange("GET /hello HTTP/1.0\r\n\r\n")
        #expect(plain.contains("\r\nConnection: close\r\n") && plain.hasSuffix("hello you\n"))
    }

    @Test func everyAnswerCarriesADateAndTheSecurityHeaders() throws {
        let server = try TestServer()
        for request in ["GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "GET /hello HTTP/1.1\r\n\r\n", "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"] {
            let response = server.exchange(request)
            let head = response.components(separatedBy: "\r\n\r\n")[0]
            let date = head.split(separator: "\r\n").first { $0.hasPrefix("Date: ") }.map { String($0.dropFirst(6)) } ?? ""
            // IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`, within a few seconds of now.
            let parser = DateFormatter()
            parser.locale = Locale(identifier: "en_US_POSIX")
            parser.timeZone = TimeZone(identifier: "GMT")
            parser.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
            let parsed = parser.date(from: date)
            #expect(date.count == 29 && parsed.map { abs($0.timeIntervalSinceNow) < 5 } == true, "Date: \(date)")
            #expect(head.contains("\r\nContent-Security-Policy: default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"))
            #expect(head.contains("\r\nX-Content-Type-Options: nosniff") && head.contains("\r\nX-Frame-Options: DENY") && head.contains("\r\nReferrer-Policy: no-referrer"))
        }
        #expect(String(decoding: HTTPServer.imfFixdate(784111777), as: UTF8.self) == "Sun, 06 Nov 1994 08:49:37 GMT")
    }

    @Test func expect100ContinueIsAnsweredBeforeTheBodyAndOtherExpectationsAre417() throws {
        let server = try TestServer()
        let fd = server.connectSocket()
        defer { close(fd) }
        send(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        let interim = readLoopback(fd, timeout: 1, until: { $0.hasSuffix("\r\n\r\n") })
        #expect(interim == "HTTP/1.1 100 Continue\r\n\r\n")
        send(fd, "hello")
        #expect(readLoopback(fd, timeout: 1, until: { $0.hasSuffix("hello") }).hasPrefix("HTTP/1.1 200 "))
        let refused = server.exchange("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\nContent-Length: 5\r\n\r\n")
        #expect(refused.hasPrefix("HTTP/1.1 417 Expectation Failed\r\n"))
        // A body too large is refused without 100 Continue: the client need not send it.
        let large = server.exchange("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 999999\r\n\r\n")
        #expect(large.hasPrefix("HTTP/1.1 413 "))
    }

    @Test func a204HasNoContentLength() throws {
        let server = try TestServer()
        let response = server.exchange("POST /nothing HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        #expect(response.hasPrefix("HTTP/1.1 204 No Content\r\n") && !response.contains("Content-Length"), "\(response)")
    }

    @Test func absoluteFormTargetsAreAccepted() throws {
        let server = try TestServer()
        let response = server.exchange("GET http://x/hello?name=absolute HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(response.hasPrefix("HTTP/1.1 200 ") && response.hasSuffix("hello absolute\n"), "\(response)")
        #expect(HTTPParser.originForm("HTTPS://host:8080") == "/")
        #expect(HTTPParser.originForm("http://host?x=1") == "/?x=1")
        #expect(HTTPParser.originForm("http:///path") == nil)
        #expect(HTTPParser.originForm("ftp://host/") == nil)
    }

    @Test func chunkedBodiesAreReadWithinTheBodyLimit() throws {
        let server = try TestServer()
        let echoed = server.exchange("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6;name=value\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
        #expect(echoed.hasPrefix("HTTP/1.1 200 ") && echoed.hasSuffix("\r\n\r\nhello world"), "\(echoed)")
        let big = String(repeating: "8000\r\n" + String(repeating: "x", count: 0x8000) + "\r\n", count: 3) + "0\r\n\r\n"
        #expect(server.exchange("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + big).hasPrefix("HTTP/1.1 413 "))
        #expect(server.exchange("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n").hasPrefix("HTTP/1.1 501 "))
        #expect(server.exchange("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").hasPrefix("HTTP/1.1 400 "))
    }

    @Test func aClientThatHalfClosesStillGetsEveryAnswerWhole() throws {
        let server = try TestServer()
        // A small receive buffer (no autotuning) keeps the kernel from taking the answer whole.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var small: Int32 = 4096
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = server.port.bigEndian
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        // 32 MiB: more than the kernel buffers, so the server still has most of it queued when
        // it reads the end of the client's input.
        send(fd, "GET /huge HTTP/1.1\r\nHost: x\r\n\r\n")
        shutdown(fd, Int32(SHUT_WR))
        usleep(200_000)
        var total = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 3000) > 0 else { break }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            total += n
        }
        #expect(total > 32 << 20, "\(total) bytes of a 32 MiB answer")
    }

    @Test func theHeaderDeadlineAppliesToEveryRequestOnAKeptConnection() throws {
        var settings = HTTPServer.Settings()
        settings.headerDeadline = .milliseconds(300)
        settings.idleTimeout = .seconds(10)
        let server = try TestServer(settings: settings)
        let fd = server.connectSocket()
        defer { close(fd) }
        send(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(readLoopback(fd, timeout: 1, until: { $0.hasSuffix("hello you\n") }).hasPrefix("HTTP/1.1 200 "))
        send(fd, "GET /hello HTTP/1.1\r\nHo")
        let started = Date()
        let response = readLoopback(fd, timeout: 3)
        #expect(response.hasPrefix("HTTP/1.1 408 "), "\(response)")
        #expect(Date().timeIntervalSince(started) < 2, "the second request got the idle timeout instead")
    }

    @Test func headOfTheStreamIsItsHeadersWithoutABody() throws {
        let ui = try UIFixture()
        let fd = ui.connect()
        defer { close(fd) }
        send(fd, "HEAD /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        let head = readLoopback(fd, timeout: 1, until: { $0.hasSuffix("\r\n\r\n") })
        #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n") && head.contains("Content-Type: text/event-stream\r\n") && !head.contains("Content-Length"), "\(head)")
        // Nothing follows, and the connection serves the next request.
        send(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        let next = readLoopback(fd, timeout: 1, until: { $0.hasSuffix("ok\n") })
        #expect(next.hasPrefix("HTTP/1.1 200 OK\r\n") && next.hasSuffix("ok\n"), "\(next)")
    }
}
