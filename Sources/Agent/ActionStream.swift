import FSWatch
import HomelabCore

/// An action offered to this node (docs/remote-actions.md): what the stream's `offer` says.
struct ActionOffer: Equatable {
    let id: String
    let action: String
    let resource: String
}

/// The agent's end of `GET /api/agent/actions` (docs/remote-actions.md): one connection of
/// its own, held open with the node's token, its Server-Sent Events read on the loop. Each
/// connect names this agent process (`instance`) and the actions it still runs (`running`), so
/// the VPS keeps their leases and fails those of an agent that restarted. A lost stream is
/// opened again after the same back-off as deliveries (100 ms doubling to 2 s).
final class ActionStream {
    /// The server sends a comment every 15 s: three missed ones mean the link is gone.
    static let idle = Duration.seconds(45)

    let server: ServerURL
    private var token: AgentToken
    private let instance: String
    private let client: HTTPClient
    private let logger: Logger
    private let running: () -> [String]
    private let opened: () -> Void
    private let offered: (ActionOffer) -> Void
    private var decoder = SSEDecoder()
    private var retry: LoopTimer!
    private var backoff = Delivery.backoff
    /// The problem of the outage in hand, said once.
    private var outage: String?
    private var closed = false
    private(set) var isOpen = false
    private(set) var connects = 0

    init(server: ServerURL, token: AgentToken, instance: String, reactor: Reactor, logger: Logger, timeout: Duration,
         running: @escaping () -> [String], opened: @escaping () -> Void, offered: @escaping (ActionOffer) -> Void) {
        self.server = server
        self.token = token
        self.instance = instance
        self.logger = logger
        self.running = running
        self.opened = opened
        self.offered = offered
        client = HTTPClient(host: server.host, port: server.port, reactor: reactor, timeout: timeout)
        retry = reactor.timer { [unowned self] in open() }
    }

    func open() {
        guard !closed, !client.isBusy else { return }
        decoder = SSEDecoder()
        var target = server.prefix + "/api/agent/actions?instance=" + instance
        let ids = running()
        if !ids.isEmpty { target += "&running=" + ids.joined(separator: ",") }
        let request = AgentRequest.bytes("GET", target, server: server, token: token, accept: "text/event-stream")
        let streaming = HTTPClient.Streaming(idle: Self.idle, opened: { [unowned self] _ in connected(running: ids) }, body: { [unowned self] bytes in
            for message in decoder.feed(bytes) { receive(message) }
        })
        client.stream(request, streaming) { [unowned self] result in ended(result) }
    }

    func close() {
        closed = true
        retry.cancel()
        client.close()
        isOpen = false
    }

    /// SIGHUP: a rotated token file is taken at the next connect.
    func reload() { token.reload() }

    private func connected(running ids: [String]) {
        isOpen = true
        connects += 1
        backoff.reset()
        if let outage {
            logger.info("action stream open again (it failed: \(outage))" + (ids.isEmpty ? "" : "; still running \(ids.joined(separator: ", "))"))
            self.outage = nil
        } else {
            logger.info("action stream open: \(server)")
        }
        opened()
    }

    private func receive(_ message: SSEDecoder.Message) {
        guard message.event == "offer" else { return }
        guard let object = (try? JSONParser.parse(Array(message.data.utf8)))?.object, let id = object["id"]?.string, !id.isEmpty else {
            return logger.warning("an offer the agent cannot read: \(message.data.prefix(200))")
        }
        offered(ActionOffer(id: id, action: object["action"]?.string ?? "?", resource: object["resource"]?.string ?? ""))
    }

    private func ended(_ result: Result<HTTPClient.Response, HTTPClientError>) {
        let wasOpen = isOpen
        isOpen = false
        let problem: String
        switch result {
        case .failure(let error): problem = "\(error)"
        case .success(let response) where response.status == 200: problem = "the server ended it"
        case .success(let response):
            let said = AgentRequest.reason(response.body)
            switch response.status {
            case 401:
                token.reload()
                problem = "the token was refused (401\(said))"
            case 404: problem = "the server has no action stream (404\(said)): is the VPS older than this agent?"
            default: problem = "answered \(response.status)\(said)"
            }
        }
        guard !closed else { return }
        if outage != problem {
            logger.log(wasOpen ? .info : .warning, "action stream \(server): \(problem); opening it again with back-off (at most \(backoff.longest))")
            outage = problem
        }
        retry.schedule(after: backoff.take())
    }
}
