#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore
import TestSupport

/// A notification receiver on 127.0.0.1, on the test's reactor, speaking the three targets'
/// APIs as they document them: a webhook (`POST /hook`, its HMAC checked), ntfy's JSON publish
/// (`POST /` with `topic`), Gotify (`POST /message` with `X-Gotify-Key`). It keeps a ledger by
/// the message's key — what a receiver that honours the key shows — and every delivery.
final class Receiver {
    struct Delivery {
        let kind: String
        let key: String
        let title: String
        let message: String
        let click: String?
        let priority: Int?
    }

    static let topic = "homelab-test"
    static let gotifyToken = "gotify-app-token"
    static let webhookSecret = "webhook-secret"

    private(set) var port: UInt16 = 0
    private(set) var deliveries: [Delivery] = []
    /// First delivery of each key, in arrival order.
    private(set) var ledger: [String: Delivery] = [:]
    private(set) var order: [String] = []
    /// Refusals: a bad signature, a wrong token or topic.
    private(set) var refused: [String] = []
    /// Each answer waits this long (a slow receiver: kills land mid-delivery).
    var delay: Duration = .zero
    private let reactor: Reactor
    private var listener: Reactor.Token?
    private var buffers: [Reactor.Token: [UInt8]] = [:]

    init(reactor: Reactor) throws {
        self.reactor = reactor
        try up()
    }

    var url: String { "http://127.0.0.1:\(port)" }
    func shown(_ kind: String) -> [Delivery] { order.compactMap { ledger[$0] }.filter { $0.kind == kind } }
    func received(_ kind: String) -> [Delivery] { deliveries.filter { $0.kind == kind } }

    /// Listens (again, on the same port after `down`).
    func up() throws {
        let (fd, bound) = try Socket.listen("127.0.0.1:\(port)")
        port = bound
        listener = try reactor.register(FileDescriptor(owning: fd), label: "receiver", interest: .readable) { [unowned self] _ in
            guard let listener, let fd = reactor.descriptor(listener) else { return }
            while case .connection(let client, _) = Socket.accept(fd) {
                var token: Reactor.Token?
                token = try? reactor.register(FileDescriptor(owning: client), label: "receiver client", interest: .readable) { [unowned self] _ in
                    if let token { read(token) }
                }
            }
        }
    }

    /// Stops listening and drops every connection: the receiver is down.
    func down() {
        if let listener { reactor.close(listener) }
        listener = nil
        for token in buffers.keys { reactor.close(token) }
        buffers = [:]
    }

    private func read(_ token: Reactor.Token) {
        guard let fd = reactor.descriptor(token) else { return }
        guard TestHTTPRequest.receive(fd, into: &buffers[token, default: []]) else { return drop(token) }
        while let request = TestHTTPRequest.take(from: &buffers[token, default: []]) {
            let status = answer(request)
            let reply = "HTTP/1.1 \(status) X\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
            if delay > .zero {
                reactor.timer(after: delay) { [unowned self] in
                    if reactor.descriptor(token) != nil { send(fd, reply) }
                }
            } else {
                send(fd, reply)
            }
        }
    }

    private func drop(_ token: Reactor.Token) {
        buffers[token] = nil
        reactor.close(token)
    }

    /// The status for one request, recording it when it is one the API takes.
    private func answer(_ request: TestHTTPRequest) -> Int {
        let (head, body, headers, requestLine) = (request.head, request.body, request.headers, request.requestLine)
        guard requestLine.count >= 2, requestLine[0] == "POST", let json = (try? JSONParser.parse(body))?.object else {
            refused.append(String(head.prefix(80)))
            return 400
        }
        let delivery: Delivery
        switch String(requestLine[1]) {
        case "/hook":
            let signature = "sha256=" + Digest.hex(Digest.hmacSHA256(key: Array(Self.webhookSecret.utf8), message: body))
            guard headers["x-homelab-signature"] == signature, let key = headers["idempotency-key"], headers["x-homelab-key"] == key else {
                refused.append("webhook: signature or key")
                return 401
            }
            delivery = Delivery(kind: "webhook", key: key, title: json["title"]?.string ?? "", message: json["message"]?.string ?? "",
                                click: json["click"]?.string, priority: nil)
        case "/":
            guard json["topic"]?.string == Self.topic, let key = json["sequence_id"]?.string else {
                refused.append("ntfy: topic or sequence_id")
                return 400
            }
            delivery = Delivery(kind: "ntfy", key: key, title: json["title"]?.string ?? "", message: json["message"]?.string ?? "",
                                click: json["click"]?.string, priority: json["priority"]?.int)
        case "/message":
            guard headers["x-gotify-key"] == Self.gotifyToken, let key = json["extras"]?["homelab::key"]?.string else {
                refused.append("gotify: token or key")
                return 401
            }
            delivery = Delivery(kind: "gotify", key: key, title: json["title"]?.string ?? "", message: json["message"]?.string ?? "",
                                click: json["extras"]?["client::notification"]?["click"]?["url"]?.string, priority: json["priority"]?.int)
        default:
            refused.append("unknown path \(requestLine[1])")
            return 404
        }
        deliveries.append(delivery)
        let ledgerKey = delivery.kind + "/" + delivery.key
        if ledger[ledgerKey] == nil {
            ledger[ledgerKey] = delivery
            order.append(ledgerKey)
        }
        return 200
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
