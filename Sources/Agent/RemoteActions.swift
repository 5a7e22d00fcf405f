#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// Actions the VPS hands this node (docs/remote-actions.md, SPEC §11), over HTTP only: offers
/// arrive on the action stream (`ActionStream`, a connection of its own); claims, `started`,
/// output and results go one at a time over a second connection, so neither waits on the
/// events' deliveries. At most `HOMELAB_AGENT_CONCURRENCY` children run at once; further
/// offers wait here, unclaimed, for a free slot (another agent of the node may take them).
///
/// What is still to post is kept per run (`RemoteRun`) and the next request is picked from
/// it — claims first, then for each run in claim order its `started`, its output, its result —
/// so a lost connection only delays: the same back-off as deliveries, then the same requests.
/// A 409 means the VPS no longer counts the run (its lease ended): said, and dropped.
final class RemoteActions {
    struct Counters {
        var claimed = 0
        var succeeded = 0
        var failed = 0
        var refused = 0
        /// Claims another agent won, or offers gone by the time they were claimed.
        var lostClaims = 0
        /// Runs the VPS ended (409) before their result was taken.
        var leaseEnded = 0
    }

    /// A fresh UUID per agent process: a restarted agent is a new instance, whose stream does
    /// not list what the old one ran (its children died with it).
    let instance: String
    private let settings: AgentSettings
    private let server: ServerURL
    private var token: AgentToken
    private let allow: ActionAllowList
    private let reactor: Reactor
    private let logger: Logger
    private let client: HTTPClient
    private var stream: ActionStream!
    /// Where each child's HOME is made.
    private let work: String
    /// Offers not claimed yet, first first.
    private var waiting: [ActionOffer] = []
    /// Claimed runs, until their result is acknowledged; `order` is claim order.
    private var runs: [String: RemoteRun] = [:]
    private var order: [String] = []
    private var retry: LoopTimer!
    private var backoff = Delivery.backoff
    private var outage: String?
    private var pumpScheduled = false
    private var closed = false
    private(set) var counters = Counters()

    static let maxWaiting = 10_000

    init(settings: AgentSettings, server: ServerURL, token: AgentToken, reactor: Reactor, logger: Logger) {
        instance = Self.uuid()
        self.settings = settings
        self.server = server
        self.token = token
        allow = ActionAllowList(entries: settings.allow)
        self.reactor = reactor
        self.logger = logger
        work = settings.spool + "/.actions"  // hidden: a drained spool holds only hidden files (SPEC §11)
        client = HTTPClient(host: server.host, port: server.port, reactor: reactor, timeout: settings.requestTimeout)
        retry = reactor.timer { [unowned self] in pump() }
        stream = ActionStream(server: server, token: token, instance: instance, reactor: reactor, logger: logger, timeout: settings.requestTimeout,
                              running: { [unowned self] in order.filter { runs[$0]?.abandoned == false } },
                              opened: { [unowned self] in waiting = [] },  // the server offers afresh on each connect
                              offered: { [unowned self] offer in offered(offer) })
    }

    func start() throws(SystemError) {
        if mkdir(work, 0o700) != 0 && Errno.current != .fileExists { throw SystemError("mkdir", Errno.current, subject: work) }
        logger.info("actions: instance \(instance), at most \(settings.concurrency) at once, programs allowed: \(allow)")
        stream.open()
    }

    /// The agent stops: its children go with it (the new instance will not list them, so the
    /// VPS fails them as interrupted — never run twice).
    func close() {
        closed = true
        stream.close()
        retry.cancel()
        client.close()
        for run in runs.values { run.abort() }
    }

    func reload() {
        token.reload()
        stream.reload()
    }

    var statusDetails: JSONObject {
        [
            "instance": .string(instance), "stream": .bool(stream.isOpen), "running": .int(runs.values.filter(\.isRunning).count),
            "waiting": .int(waiting.count), "allow": .string(allow.description), "concurrency": .int(settings.concurrency),
            "claimed": .int(counters.claimed), "succeeded": .int(counters.succeeded), "failed": .int(counters.failed),
            "refused": .int(counters.refused), "lostClaims": .int(counters.lostClaims), "leaseEnded": .int(counters.leaseEnded),
        ]
    }

    // MARK: Offers

    private func offered(_ offer: ActionOffer) {
        guard OperatorDecision.isValidID(offer.id) else { return logger.warning("an offer with an invalid id \"\(offer.id.prefix(80))\": ignored") }
        guard runs[offer.id] == nil, !waiting.contains(where: { $0.id == offer.id }), waiting.count < Self.maxWaiting else { return }
        waiting.append(offer)
        pumpSoon()
    }

    // MARK: Requests

    private enum Request {
        case claim(ActionOffer)
        case started(RemoteRun)
        case output(RemoteRun, Int)
        case result(RemoteRun)
    }

    /// One look per loop turn: output that arrived meanwhile goes in one request.
    private func pumpSoon() {
        guard !pumpScheduled else { return }
        pumpScheduled = true
        reactor.runSoon { [weak self] in
            guard let self else { return }
            pumpScheduled = false
            pump()
        }
    }

    private func pump() {
        guard !closed, !client.isBusy, !retry.isScheduled, let request = next() else { return }
        let id: String, verb: String, body: [UInt8]
        var contentType = "application/json"
        switch request {
        case .claim(let offer):
            (id, verb, body) = (offer.id, "claim", RemoteRun.body(["instance": .string(instance)]))
        case .started(let run):
            (id, verb, body) = (run.id, "started", run.startedBody ?? [])
        case .output(let run, _):
            (id, verb, body) = (run.id, "output?instance=" + instance, run.nextChunk() ?? [])
            contentType = "application/octet-stream"
        case .result(let run):
            (id, verb, body) = (run.id, "result", run.result ?? [])
        }
        let bytes = AgentRequest.bytes("POST", server.prefix + "/api/agent/actions/" + id + "/" + verb, server: server, token: token,
                                       contentType: contentType, body: body)
        client.send(bytes) { [unowned self] result in
            switch result {
            case .failure(let error): failed(request, "\(server): \(error)")
            case .success(let response): answered(request, response)
            }
        }
    }

    /// Claims first (while a slot is free), then each run's `started`, output, result in turn.
    private func next() -> Request? {
        if !waiting.isEmpty, runs.values.filter(\.isRunning).count < settings.concurrency {
            return .claim(waiting.removeFirst())
        }
        for id in order {
            guard let run = runs[id], !run.abandoned else { continue }
            if run.startedBody != nil { return .started(run) }
            if let chunk = run.nextChunk() { return .output(run, chunk.count) }
            if !run.isRunning, run.result != nil { return .result(run) }
        }
        return nil
    }

    private func answered(_ request: Request, _ response: HTTPClient.Response) {
        let said = AgentRequest.reason(response.body)
        if response.status == 401 {
            token.reload()  // a rotated token file is taken at the next try
            return failed(request, "\(server) refused the node's token (401\(said))")
        }
        if response.status >= 500 || response.status == 429 {
            return failed(request, "\(server) answered \(response.status)\(said)")
        }
        if let outage {
            logger.info("action requests reach \(server) again (they failed: \(outage))")
            self.outage = nil
        }
        backoff.reset()
        switch request {
        case .claim(let offer):
            claimed(offer, response, said: said)
        case .started(let run):
            if response.status == 200 { run.startedBody = nil } else { ended(run, response.status, said: said, what: "its start") }
        case .output(let run, let count):
            if response.status == 200 { run.sent(count) } else { ended(run, response.status, said: said, what: "its output") }
        case .result(let run):
            if response.status == 200 {
                forget(run)
            } else {
                ended(run, response.status, said: said, what: "its result")
            }
        }
        pumpSoon()
    }

    private func failed(_ request: Request, _ problem: String) {
        if case .claim(let offer) = request { waiting.insert(offer, at: 0) }
        if outage != problem {
            logger.warning("\(problem); action requests retried with back-off (at most \(backoff.longest))")
            outage = problem
        }
        retry.schedule(after: backoff.take())
    }

    // MARK: Runs

    private func claimed(_ offer: ActionOffer, _ response: HTTPClient.Response, said: String) {
        switch response.status {
        case 200: break
        case 409:
            counters.lostClaims += 1
            return logger.debug("\(offer.id): claimed by another agent, or no longer offered (409\(said))")
        case 403:
            return logger.error("\(offer.id): the VPS says it is another node's action (403\(said)): is HOMELAB_NODE right?")
        default:
            return logger.warning("\(offer.id): the claim was answered \(response.status)\(said); not run")
        }
        let answer = (try? JSONParser.parse(response.body))?.object
        let argv = answer?["argv"]?.array?.compactMap(\.string) ?? []
        let timeout = answer?["timeoutSeconds"]?.int ?? 120
        let run = RemoteRun(id: offer.id)
        runs[offer.id] = run
        order.append(offer.id)
        counters.claimed += 1
        let refusal = run.start(argv: argv, timeoutSeconds: max(1, timeout), instance: instance, allow: allow, settings: settings,
                                work: work + "/" + offer.id, reactor: reactor, changed: { [unowned self, unowned run] in
                                    outputArrived(run)
                                }, finished: { [unowned self] run in finished(run) })
        if let refusal {
            if refusal.hasPrefix("refused") { counters.refused += 1 } else { counters.failed += 1 }
            logger.warning("\(offer.id) (\(offer.action) for \(offer.resource)): \(refusal); nothing ran")
        } else {
            logger.info("started \(offer.id): \(offer.action) for \(offer.resource), pid \(run.run?.pid ?? 0): \(argv.joined(separator: " "))")
        }
    }

    private func outputArrived(_ run: RemoteRun) {
        if run.dropped > 0 && !run.droppedSaid {
            run.droppedSaid = true
            logger.warning("\(run.id): over \(RemoteRun.maxPendingOutput >> 20) MiB of output not yet taken by \(server): the rest is dropped (the result says how much)")
        }
        pumpSoon()
    }

    private func finished(_ run: RemoteRun) {
        if run.ok { counters.succeeded += 1 } else { counters.failed += 1 }
        logger.info("\(run.ok ? "succeeded" : "failed") \(run.id)" + (run.abandoned ? " (its lease had ended: nothing is posted)" : ""))
        removeTree(work + "/" + run.id)
        if run.abandoned { forget(run) }
        pumpSoon()
    }

    /// The VPS answered 409 (or 403/404) to a run's request: it no longer counts this run.
    private func ended(_ run: RemoteRun, _ status: Int, said: String, what: String) {
        // 404: the hand-off is over and gone (the executor recorded the lease's verdict already).
        if status == 409 || status == 404 {
            counters.leaseEnded += 1
            logger.warning("\(run.id): the VPS refused \(what) (\(status)\(said)): the lease ended it (recorded interrupted); "
                + (run.isRunning ? "its child is stopped, " : "") + "nothing more is posted")
        } else {
            logger.error("\(run.id): the VPS refused \(what) (\(status)\(said)); nothing more is posted")
        }
        run.abandon()
        if !run.isRunning { forget(run) }
    }

    private func forget(_ run: RemoteRun) {
        unlink(work + "/" + run.id + ".log")
        runs[run.id] = nil
        order.removeAll { $0 == run.id }
    }

    /// A random (version 4) UUID.
    static func uuid() -> String {
        var hex = Array(Digest.randomHex(bytes: 16))
        hex[12] = "4"
        hex[16] = ["8", "9", "a", "b"][Int(hex[16].hexDigitValue ?? 0) & 3]
        let text = String(hex)
        func part(_ from: Int, _ to: Int) -> Substring { text.dropFirst(from).prefix(to - from) }
        return [part(0, 8), part(8, 12), part(12, 16), part(16, 20), part(20, 32)].joined(separator: "-")
    }
}
