import FSWatch
import HomelabCore

/// `HOMELAB_SERVER` (SPEC §11): `POST PREFIX/api/events` with a CloudEvents batch (a JSON array
/// of the spooled events, then reports sent ahead and the newest heartbeat) and the node's token. A 200 carries one
/// result per posted event, in order; anything else acknowledges nothing.
final class HTTPTransport: Transport {
    let kind = "http"
    let server: ServerURL
    private let client: HTTPClient
    private var token: AgentToken
    private let logger: Logger
    private var announcedConnections = 0
    var target: String { server.description }
    var isConnected: Bool { client.isConnected }

    init(server: ServerURL, token: AgentToken, reactor: Reactor, logger: Logger, timeout: Duration = .seconds(30)) {
        self.server = server
        self.token = token
        self.logger = logger
        client = HTTPClient(host: server.host, port: server.port, reactor: reactor, timeout: timeout)
    }

    func send(_ batch: Spool.Batch, extra: [[UInt8]], completion: @escaping (DeliveryOutcome) -> Void) {
        var body: [UInt8] = [UInt8(ascii: "[")]
        body.reserveCapacity(batch.bytes.count + extra.reduce(0) { $0 + $1.count } + 2)
        for index in 0..<batch.count {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body.append(contentsOf: batch.line(index))
        }
        for (index, event) in extra.enumerated() {
            if batch.count > 0 || index > 0 { body.append(UInt8(ascii: ",")) }
            body.append(contentsOf: event.last == 0x0A ? event.dropLast() : event[...])
        }
        body.append(UInt8(ascii: "]"))
        let request = AgentRequest.bytes("POST", server.eventsPath, server: server, token: token,
                                         contentType: "application/cloudevents-batch+json", body: body)
        let expected = batch.count + extra.count
        client.send(request) { [unowned self] result in
            switch result {
            case .failure(let error):
                completion(.failed("\(server): \(error)", level: .warning))
            case .success(let response):
                if client.connections > announcedConnections {
                    announcedConnections = client.connections
                    logger.info("connected to \(server)")
                }
                completion(outcome(response, expected: expected, spooled: batch.count))
            }
        }
    }

    private func outcome(_ response: HTTPClient.Response, expected: Int, spooled: Int) -> DeliveryOutcome {
        let said = AgentRequest.reason(response.body)
        switch response.status {
        case 200:
            guard let results = Self.results(response.body), results.count == expected else {
                return .failed("\(server) answered 200 without one result for each of the \(expected) events posted", level: .error)
            }
            return .delivered(Array(results.prefix(spooled)))
        case 401:
            token.reload()  // a rotated token file is taken at the next try
            return .failed("\(server) refused the node's token (401\(said)): it is wrong or revoked; make one on the VPS with homelab agent-token NODE and set HOMELAB_AGENT_TOKEN or HOMELAB_AGENT_TOKEN_FILE", level: .error)
        case 403:
            return .failed("\(server) refused the events as not this node's (403\(said)): the token is another node's, or HOMELAB_NODE is wrong", level: .error)
        case 413:
            return .tooLarge
        default:
            return .failed("\(server) answered \(response.status)\(said)", level: .warning)
        }
    }

    /// `{"results": [{"id", "status", "reason"}]}`, or nil when the body is not that.
    static func results(_ body: [UInt8]) -> [EventResult]? {
        guard let items = (try? JSONParser.parse(body))?["results"]?.array else { return nil }
        var results: [EventResult] = []
        results.reserveCapacity(items.count)
        for item in items {
            switch item["status"]?.string {
            case "accepted": results.append(.accepted)
            case "duplicate": results.append(.duplicate)
            case "rejected": results.append(.rejected(item["reason"]?.string ?? "no reason given"))
            default: return nil
            }
        }
        return results
    }

    func reload() { token.reload() }
    func close() { client.close() }
}
