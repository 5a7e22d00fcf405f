#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import Foundation
import HomelabCore
import TestSupport

/// A small HTTP listener on 127.0.0.1, on the test's reactor, speaking `POST /api/events` as
/// SPEC §11 documents it: a bearer token, a CloudEvents batch, one result per event
/// (accepted, or duplicate for a `(source, id)` already taken). A test scripts the first
/// answers (a status, a response lost mid-way, silence) before the normal ones.
final class TestServer {
    enum Reply {
        /// The documented 200 with results.
        case results
        case status(Int, String)
        /// Starts a 200 and closes the connection halfway through it.
        case cutMidway
        /// Reads the request and never answers.
        case silence
    }

    struct Request {
        var head: String
        var headers: [String: String]
        var events: [JSONObject]
    }

    let port: UInt16
    var token = "agent-token"
    /// Answers given before the normal ones, first first.
    var script: [Reply] = []
    /// While true every request gets a 503.
    var unavailable = false
    /// Events to refuse, with the reason.
    var rejects: (JSONObject) -> String? = { _ in nil }
    private(set) var requests: [Request] = []
    /// Every event accepted, in order, each `(source, id)` once.
    private(set) var accepted: [JSONObject] = []
    private(set) var duplicates = 0
    private(set) var connections = 0
    private var seen: Set<String> = []
    private let reactor: Reactor
    private var buffers: [Reactor.Token: [UInt8]] = [:]
    /// Connections that carried events (`connections` counts those: the action stream and
    /// the action requests have connections of their own).
    private var eventConnections: Set<Reactor.Token> = []
    /// The action API (docs/remote-actions.md).
    private(set) var actions: TestActionAPI!

    init(reactor: Reactor) throws {
        self.reactor = reactor
        let (fd, port) = try Socket.listen("127.0.0.1:0")
        self.port = port
        actions = TestActionAPI(send: { [unowned self] fd, text in send(fd, text) }, close: { [unowned self] token in drop(token) })
        try reactor.register(FileDescriptor(owning: fd), label: "test server", interest: .readable) { [unowned self] _ in
            while case .connection(let client, _) = Socket.accept(fd) {
                var token: Reactor.Token?
                token = try? reactor.register(FileDescriptor(owning: client), label: "test client", interest: .readable) { [unowned self] _ in
                    if let token { read(token) }
                }
            }
        }
    }

    var url: String { "http://127.0.0.1:\(port)" }
    func events(ofType type: String) -> [JSONObject] { accepted.filter { $0["type"]?.string == type } }

    private func read(_ token: Reactor.Token) {
        guard let fd = reactor.descriptor(token) else { return }
        guard TestHTTPRequest.receive(fd, into: &buffers[token, default: []]) else { return drop(token) }
        while let request = TestHTTPRequest.take(from: &buffers[token, default: []]) {
            let line = request.requestLine
            if line.count >= 2, let answered = actions.answer(String(line[0]), String(line[1]), body: request.body, token: token, fd: fd) {
                if !answered { return drop(token) }
                continue
            }
            if eventConnections.insert(token).inserted { connections += 1 }
            if !answer(request, fd: fd) { return drop(token) }
        }
    }

    private func drop(_ token: Reactor.Token) {
        buffers[token] = nil
        eventConnections.remove(token)
        actions.closed(token)
        reactor.close(token)
    }

    /// Answers; false when the connection is to be closed.
    private func answer(_ raw: TestHTTPRequest, fd: Int32) -> Bool {
        let headers = raw.headers
        let events = (try? JSONParser.parse(raw.body))?.array?.compactMap(\.object) ?? []
        requests.append(Request(head: raw.head.components(separatedBy: "\r\n")[0], headers: headers, events: events))
        let reply = script.isEmpty ? (unavailable ? .status(503, #"{"error":"busy"}"#) : .results) : script.removeFirst()
        switch reply {
        case .silence:
            return true
        case .status(let code, let body):
            send(fd, "HTTP/1.1 \(code) Whatever\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            return true
        case .cutMidway:
            send(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"results\": [")
            process(events)  // taken, durably, and then the answer was lost
            return false
        case .results:
            guard headers["authorization"] == "Bearer " + token else {
                send(fd, "HTTP/1.1 401 Unauthorized\r\nContent-Length: 27\r\n\r\n{\"error\":\"unknown token\"}\r\n")
                return true
            }
            let results = process(events)
            let body = JSONWriter.string(.object(["results": .array(results)]))
            // Chunked, as a server may choose: the client reads both framings.
            let hex = String(body.utf8.count, radix: 16)
            send(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\(hex)\r\n\(body)\r\n0\r\n\r\n")
            return true
        }
    }

    @discardableResult
    private func process(_ events: [JSONObject]) -> [JSONValue] {
        events.map { event in
            let id = event["id"]?.string ?? ""
            if let reason = rejects(event) {
                return .object(["id": .string(id), "status": .string("rejected"), "reason": .string(reason)])
            }
            let key = (event["source"]?.string ?? "") + "\0" + id
            if seen.insert(key).inserted {
                accepted.append(event)
                return .object(["id": .string(id), "status": .string("accepted")])
            }
            duplicates += 1
            return .object(["id": .string(id), "status": .string("duplicate")])
        }
    }

    private func send(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n <= 0 {
                if Errno.current == .wouldBlock { continue }
                return
            }
            offset += n
        }
    }
}
