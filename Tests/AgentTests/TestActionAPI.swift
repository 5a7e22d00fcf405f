import FSWatch
import Foundation
import HomelabCore

/// The agent's action API as docs/remote-actions.md's table documents it, for `TestServer`:
/// the stream (`offer` events, chunked), claims (one winner), started, output and result —
/// each request kept, in order, for the tests to read. A test hands actions off with `offer`.
final class TestActionAPI {
    struct Handoff {
        var argv: [String]
        var timeoutSeconds: Int
        var claimedBy: String?
        var started: JSONObject?
        var output: [UInt8] = []
        var result: JSONObject?
        /// The lease ended it: later requests get 409.
        var ended = false
    }

    struct Stream {
        let token: Reactor.Token
        let fd: Int32
        let instance: String
        let running: [String]
    }

    private(set) var handoffs: [String: Handoff] = [:]
    /// Every request of the API: "claim ID", "started ID", "output ID", "result ID", "stream".
    private(set) var log: [String] = []
    private(set) var streams: [Stream] = []
    /// Every stream opened, in order (those closed since too).
    private(set) var opened: [Stream] = []
    /// Claims answered 409 whatever the state (another agent won).
    var loseClaims = false
    /// While true a stream is refused with a 503 (the link is "cut").
    var refuseStreams = false
    private let send: (Int32, String) -> Void
    private let close: (Reactor.Token) -> Void

    init(send: @escaping (Int32, String) -> Void, close: @escaping (Reactor.Token) -> Void) {
        self.send = send
        self.close = close
    }

    /// Hands an action off to the node: offered on every open stream now, and at each connect.
    func offer(_ id: String, argv: [String], timeoutSeconds: Int = 30) {
        handoffs[id] = Handoff(argv: argv, timeoutSeconds: timeoutSeconds)
        for stream in streams { sendOffer(id, to: stream.fd) }
    }

    /// The lease ends every claimed action not finished: as the UI does after a lost stream.
    func endLeases() {
        for (id, handoff) in handoffs where handoff.claimedBy != nil && handoff.result == nil { handoffs[id]?.ended = true }
    }

    /// Cuts every open stream.
    func dropStreams() {
        for stream in streams { close(stream.token) }
        streams = []
    }

    func closed(_ token: Reactor.Token) { streams.removeAll { $0.token == token } }

    /// Answers a request of the API; nil when `target` is not one (the caller answers it).
    func answer(_ method: String, _ target: String, body: [UInt8], token: Reactor.Token, fd: Int32) -> Bool? {
        let (path, query) = Self.split(target)
        if method == "GET" && path == "/api/agent/actions" {
            log.append("stream")
            if refuseStreams {
                send(fd, "HTTP/1.1 503 Unavailable\r\nContent-Length: 0\r\n\r\n")
                return true
            }
            let running = query["running"].map { $0.split(separator: ",").map(String.init) } ?? []
            let stream = Stream(token: token, fd: fd, instance: query["instance"] ?? "", running: running)
            streams.append(stream)
            opened.append(stream)
            send(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
            chunk(": hello\n\n", to: fd)
            for id in handoffs.keys.sorted() where handoffs[id]!.claimedBy == nil { sendOffer(id, to: fd) }
            return true
        }
        let parts = path.split(separator: "/")
        guard method == "POST", parts.count == 5, parts[0] == "api", parts[1] == "agent", parts[2] == "actions" else { return nil }
        let id = String(parts[3]), verb = String(parts[4])
        log.append("\(verb) \(id)")
        let json = (try? JSONParser.parse(body))?.object ?? [:]
        let instance = json["instance"]?.string ?? query["instance"] ?? ""
        guard var handoff = handoffs[id] else { return reply(fd, 404, #"{"error":"unknown action"}"#) }
        if verb == "claim" {
            guard !loseClaims, handoff.claimedBy == nil else { return reply(fd, 409, #"{"error":"claimed by another agent"}"#) }
            handoff.claimedBy = instance
            handoffs[id] = handoff
            let answer: JSONObject = ["id": .string(id), "argv": .array(handoff.argv.map(JSONValue.string)), "timeoutSeconds": .int(handoff.timeoutSeconds)]
            return reply(fd, 200, JSONWriter.string(.object(answer)))
        }
        guard handoff.claimedBy == instance, !handoff.ended else { return reply(fd, 409, #"{"error":"not this instance's claim"}"#) }
        switch verb {
        case "started": handoff.started = json
        case "output": handoff.output += body
        case "result": handoff.result = json
        default: return reply(fd, 404, #"{"error":"no such request"}"#)
        }
        handoffs[id] = handoff
        return reply(fd, 200, "{}")
    }

    private func reply(_ fd: Int32, _ status: Int, _ body: String) -> Bool {
        send(fd, "HTTP/1.1 \(status) Whatever\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        return true
    }

    private func sendOffer(_ id: String, to fd: Int32) {
        let data: JSONObject = ["id": .string(id), "action": .string("test-action"), "resource": .string("container/testnode/web"),
                                "argv": .array(handoffs[id]!.argv.map(JSONValue.string)), "timeoutSeconds": .int(handoffs[id]!.timeoutSeconds)]
        chunk("event: offer\ndata: \(JSONWriter.string(.object(data)))\n\n", to: fd)
    }

    private func chunk(_ text: String, to fd: Int32) {
        send(fd, String(text.utf8.count, radix: 16) + "\r\n" + text + "\r\n")
    }

    private static func split(_ target: String) -> (String, [String: String]) {
        guard let mark = target.firstIndex(of: "?") else { return (target, [:]) }
        var query: [String: String] = [:]
        for pair in target[target.index(after: mark)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            query[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        return (String(target[..<mark]), query)
    }
}
