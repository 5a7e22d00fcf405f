import FSWatch
import HomelabCore

/// Moves the spool through the transport: the oldest events first, as many as one request
/// may carry, the newest unsent heartbeat appended; the next batch as soon as the last is
/// acknowledged (a backlog drains as fast as the receiver answers), and after a failure a
/// back-off from 100 ms doubling to 2 s. Nothing waits on a timer while the receiver answers.
///
/// Live reports do not wait behind a backlog (after a partition, say): one that nothing older
/// in the spool is about (`SpoolSubjects`) is sent ahead, in the next request, which then
/// carries only a short slice of the backlog so it comes back soon. Its spooled line goes later
/// in order and is answered `duplicate`.
final class Delivery {
    static let maxEvents = EventValidation.maxBatchEvents
    /// The spooled lines of one request: the server takes at most 1 MiB of body, which also
    /// holds a comma per event, the brackets and the heartbeat.
    static let maxBytes = (1 << 20) - (16 << 10)
    /// After a failure: 100 ms, doubling to 2 s (the agent's every retry: delivery, the action
    /// stream, action requests).
    static let backoff = Backoff(first: .milliseconds(100), longest: .seconds(2))

    let transport: Transport
    private let spool: Spool
    private let reactor: Reactor
    private let logger: Logger
    private let rejected: RejectedFolder
    /// Called after every acknowledgement (the spool has more room).
    private let acknowledged: () -> Void
    /// The newest heartbeat not yet sent: heartbeats are never spooled, only the last counts.
    private var heartbeat: [UInt8]?
    /// Reports to send ahead of the backlog (copies: each is in the spool too), and their bytes.
    private var ahead: [[UInt8]] = []
    private var aheadBytes = 0
    static let maxAheadBytes = 64 << 10
    /// Backlog events that ride with reports sent ahead.
    static let besideAhead = 64
    private var inFlight = false
    private var kickScheduled = false
    private var retry: LoopTimer!
    private var backoff = Delivery.backoff
    /// Lowered by a 413, raised again by each success.
    private var batchLimit = maxEvents
    /// The problem of the outage in hand, said once.
    private var outage: (problem: String, since: MonotonicTime)?
    private(set) var counters = Counters()

    struct Counters {
        var delivered = 0
        var duplicates = 0
        var rejected = 0
        var heartbeats = 0
        /// Reports sent ahead of a backlog.
        var sentAhead = 0
        var requests = 0
        var failures = 0
        var lastDelivery: Timestamp?
        /// Delivered since the last `takeSummary`.
        var sinceSummary = 0
    }

    init(spool: Spool, transport: Transport, reactor: Reactor, logger: Logger, rejected: RejectedFolder, acknowledged: @escaping () -> Void) {
        self.spool = spool
        self.transport = transport
        self.reactor = reactor
        self.logger = logger
        self.rejected = rejected
        self.acknowledged = acknowledged
        retry = reactor.timer { [unowned self] in kick() }
    }

    /// The newest heartbeat replaces any unsent one, and goes with the next delivery (the
    /// caller kicks once what it spooled in this turn is durable, so both go together).
    func hold(_ event: [UInt8]) {
        heartbeat = event
    }

    /// A report just spooled that nothing older waits for: worth sending ahead only when more
    /// than one request's worth is waiting before it (at most `maxAheadBytes` at a time).
    func sendAhead(_ event: [UInt8]) {
        guard spool.depth > Self.maxEvents, aheadBytes + event.count <= Self.maxAheadBytes else { return }
        ahead.append(event)
        aheadBytes += event.count
    }

    /// Sends what is waiting, unless a delivery is in flight or backing off (each ends by
    /// looking again).
    func kick() {
        guard !inFlight, !retry.isScheduled else { return }
        let batch: Spool.Batch
        do {
            batch = try spool.read(maxEvents: ahead.isEmpty ? batchLimit : min(batchLimit, Self.besideAhead),
                                   maxBytes: Self.maxBytes - aheadBytes)
        } catch {
            return failed("cannot read the spool: \(error)", level: .error)
        }
        guard !batch.isEmpty || heartbeat != nil || !ahead.isEmpty else { return }
        let beat = heartbeat
        let early = ahead
        heartbeat = nil
        (ahead, aheadBytes) = ([], 0)
        inFlight = true
        counters.requests += 1
        transport.send(batch, extra: early + (beat.map { [$0] } ?? [])) { [unowned self] outcome in
            inFlight = false
            switch outcome {
            case .delivered(let results):
                if beat != nil { counters.heartbeats += 1 }
                counters.sentAhead += early.count
                delivered(batch, results)
            case .failed(let problem, let level):
                if heartbeat == nil { heartbeat = beat }  // unless a newer one came meanwhile
                resend(early)
                failed(problem, level: level)
            case .tooLarge:
                if heartbeat == nil { heartbeat = beat }
                tooLarge(batch)  // what was to go ahead goes in order, with the spool
            }
        }
    }

    /// Reports that did not get through go ahead again, before newer ones.
    private func resend(_ early: [[UInt8]]) {
        ahead = early + ahead
        aheadBytes = ahead.reduce(0) { $0 + $1.count }
    }

    /// Looks again on the loop's next turn (never recursively: a backlog is many batches).
    func kickSoon() {
        guard !kickScheduled else { return }
        kickScheduled = true
        reactor.runSoon { [weak self] in
            guard let self else { return }
            kickScheduled = false
            kick()
        }
    }

    func close() {
        retry.cancel()
        transport.close()
    }

    private func delivered(_ batch: Spool.Batch, _ results: [EventResult]) {
        let now = Timestamp.now()
        for (index, result) in results.enumerated() {
            switch result {
            case .accepted: break
            case .duplicate: counters.duplicates += 1
            case .rejected(let reason): keepRejected(batch.line(index), reason: reason, at: now)
            }
        }
        do {
            try spool.acknowledge(batch, count: results.count)
        } catch {
            return failed("cannot move the spool's cursor: \(error)", level: .error)
        }
        counters.delivered += results.count
        counters.sinceSummary += results.count
        counters.lastDelivery = now
        if let outage {
            let seconds = (MonotonicTime.now() - outage.since).milliseconds / 1000
            logger.info("delivering to \(transport.target) again after \(String(format2: seconds)) s; \(spool.depth) events still spooled")
            self.outage = nil
        }
        backoff.reset()
        batchLimit = min(Self.maxEvents, batchLimit * 2)
        acknowledged()
        if spool.depth > 0 || heartbeat != nil || !ahead.isEmpty {
            kickSoon()
        } else if batch.count >= 100 {
            // A backlog is over: hand its buffers back so the steady RSS stays small.
            Memory.returnFreedPages()
        }
    }

    /// A refused event is acknowledged (it would never pass) but kept, with the reason.
    private func keepRejected(_ line: ArraySlice<UInt8>, reason: String, at time: Timestamp) {
        counters.rejected += 1
        let event = (try? JSONParser.parse(Array(line)))?.object
        let id = event?["id"]?.string ?? "unknown"
        logger.warning("\(transport.target) rejected event \(id) (\(event?["type"]?.string ?? "?") \(event?["subject"]?.string ?? "")): \(reason); kept in \(rejected.path)")
        do {
            try rejected.keep(Array(line) + [0x0A], as: Self.fileName(id), reason: Rejection(reason), at: time)
        } catch {
            logger.error("cannot keep the rejected event \(id) in \(rejected.path): \(error)")
        }
    }

    /// A file name for an event id: what is safe of it, bounded.
    static func fileName(_ id: String) -> String {
        let safe = String(id.unicodeScalars.prefix(100).map { scalar -> Character in
            let ok = (scalar.value >= 0x30 && scalar.value <= 0x39) || (scalar.value >= 0x41 && scalar.value <= 0x5A)
                || (scalar.value >= 0x61 && scalar.value <= 0x7A) || scalar == "-" || scalar == "_" || scalar == "."
            return ok ? Character(scalar) : "_"
        })
        return (safe.first == "." || safe.isEmpty ? "event" + safe : safe) + ".json"
    }

    private func tooLarge(_ batch: Spool.Batch) {
        if batch.count <= 1 {
            // One event the receiver will never take: kept, and the spool goes on.
            return delivered(batch, batch.isEmpty ? [] : [.rejected("too large for \(transport.target) (413)")])
        }
        batchLimit = max(1, batch.count / 2)
        logger.warning("\(transport.target) found \(batch.count) events in one request too large (413); sending at most \(batchLimit) at once")
        kickSoon()
    }

    private func failed(_ problem: String, level: LogLevel) {
        counters.failures += 1
        if outage?.problem != problem {
            logger.log(level, "\(problem); retrying with back-off (at most \(backoff.longest)), \(spool.depth) events spooled")
            outage = (problem, outage?.since ?? MonotonicTime.now())
        }
        retry.schedule(after: backoff.take())
    }

    /// What was delivered since the last call, for the periodic log line.
    func takeSummary() -> Int {
        defer { counters.sinceSummary = 0 }
        return counters.sinceSummary
    }

    var isFailing: Bool { outage != nil }
}
