import FSWatch
import HomelabCore

/// Delivers the outbox's messages to one target, oldest first, one request at a time on one
/// keep-alive connection (`HTTPClient`). A failure (no connection, a timeout, a 5xx, a 429)
/// is retried after a back-off that doubles up to `longestBackoff`; a 2xx hands the message
/// back as delivered. A 4xx that a retry cannot fix (400, 404, 413, 422: the target will never
/// take this request) gives the message up for this target, loudly. The quiet period holds
/// non-critical messages for `quietSeconds` after each delivery.
final class Courier {
    let target: NotifyTarget
    private let root: RuntimeRoot
    private let logger: Logger
    private let client: HTTPClient
    private var backoff: Backoff
    private var retry: LoopTimer!
    private var queue: [String] = []
    private var inFlight: String?
    private var waiting = false
    private var quietUntil: MonotonicTime?
    /// Since when deliveries fail (said once per outage).
    private var failingSince: MonotonicTime?
    private let message: (String) -> NotifyMessage?
    private let finished: (String, Courier, _ delivered: Bool) -> Void

    private(set) var delivered = 0
    private(set) var failures = 0

    init(target: NotifyTarget, root: RuntimeRoot, reactor: Reactor, logger: Logger, longestBackoff: Duration,
         message: @escaping (String) -> NotifyMessage?, finished: @escaping (String, Courier, Bool) -> Void) {
        self.target = target
        self.root = root
        self.logger = logger
        self.message = message
        self.finished = finished
        client = HTTPClient(host: target.url.host, port: target.url.port, reactor: reactor, timeout: .seconds(10))
        backoff = Backoff(first: min(.milliseconds(500), longestBackoff), longest: longestBackoff)
        retry = reactor.timer { [unowned self] in
            waiting = false
            pump()
        }
    }

    var depth: Int { queue.count + (inFlight == nil ? 0 : 1) }

    func enqueue(_ key: String) {
        guard inFlight != key, !queue.contains(key) else { return }
        queue.append(key)
        pump()
    }

    func close() {
        retry.cancel()
        client.close()
    }

    private func pump() {
        guard inFlight == nil, !waiting, !queue.isEmpty else { return }
        var index = 0
        if let quietUntil, quietUntil > .now() {
            // Only a critical message breaks the quiet.
            guard let critical = queue.firstIndex(where: { message($0)?.severity == .critical }) else {
                waiting = true
                retry.schedule(at: quietUntil)
                return
            }
            index = critical
        }
        let key = queue.remove(at: index)
        guard let next = message(key) else { return pump() }  // gone meanwhile
        inFlight = key
        client.send(TargetRequest.bytes(next, to: target, secret: target.secret(root: root))) { [unowned self] result in
            inFlight = nil
            answered(key, next, result)
        }
    }

    private func answered(_ key: String, _ sent: NotifyMessage, _ result: Result<HTTPClient.Response, HTTPClientError>) {
        switch result {
        case .success(let response) where (200..<300).contains(response.status):
            if let since = failingSince {
                logger.info("\(target.name): delivering again after \(String(format2: (MonotonicTime.now() - since).milliseconds / 1000)) s")
                failingSince = nil
            }
            backoff.reset()
            delivered += 1
            if target.quietSeconds > 0 { quietUntil = .now() + .seconds(target.quietSeconds) }
            finished(key, self, true)
        case .success(let response) where [400, 404, 413, 422].contains(response.status):
            failures += 1
            let said = String(decoding: response.body.prefix(200), as: UTF8.self)
            logger.error("\(target.name) refused message \(key) (\(sent.title)) with \(response.status): \(said); given up for this target")
            finished(key, self, false)
        case .success(let response):
            failed(key, "answered \(response.status)")
        case .failure(let error):
            failed(key, error.description)
        }
        pump()
    }

    private func failed(_ key: String, _ reason: String) {
        failures += 1
        queue.insert(key, at: 0)
        let wait = backoff.take()
        if failingSince == nil {
            failingSince = .now()
            logger.warning("\(target.name) (\(target.kind.rawValue) \(target.url)): \(reason); retrying with back-off (at most \(backoff.longest)), \(queue.count) messages waiting")
        } else {
            logger.debug("\(target.name): \(reason); next try in \(wait)")
        }
        waiting = true
        retry.schedule(after: wait)
    }
}
