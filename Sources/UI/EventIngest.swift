#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// `POST /api/events` (SPEC §7, §11): CloudEvents over HTTP, structured (one event) or batched
/// (a JSON array of at most 1,000 events in at most 1 MiB), from a node's agent (its token
/// binds it to its node) or from the operator's scripts.
///
/// The events are checked by the inbox's rules (`EventValidation`), then written as one JSON
/// Lines file into `posted/`, which the observer takes like the inbox: the log stays with one
/// writer and one exactly-once path. The answer waits until the observer has removed the
/// file — it does so only once the batch is durable in the log — and each event's result is
/// read off the log: an event whose line appeared after the file was written is `accepted`;
/// one that did not was already logged, a `duplicate` (an agent's retry after a lost answer).
/// A post the observer has not taken within `Settings.ingestWait` is answered 503; its file stays and
/// is logged later, and the client's retry is then answered `duplicate`. While the observer's
/// disk guard has paused ingest (its status says `ingest.paused`), a post is answered 503 at
/// once, with the reason and `Retry-After`, and nothing is written.
///
/// A `node.heartbeat` the observer thinned out of the log (one a minute per node is logged;
/// the others only move the node's `lastSeen`) never appears in the log: it is `accepted`.
final class EventIngest {
    static let path = "/api/events"
    static let maxBody = 1 << 20
    static let structured = "application/cloudevents+json"
    static let batched = "application/cloudevents-batch+json"

    /// One post waiting for the observer.
    final class Post {
        let file: String
        let connection: HTTPServer.Connection
        let node: String?
        let batch: Bool
        /// One per posted event, in order; `.accepted` entries become `.duplicate` unless their
        /// line appears in the log.
        var results: [Outcome]
        var appeared: Set<String> = []
        var timer: LoopTimer?

        init(file: String, connection: HTTPServer.Connection, node: String?, batch: Bool, results: [Outcome]) {
            self.file = file
            self.connection = connection
            self.node = node
            self.batch = batch
            self.results = results
        }
    }

    enum Outcome {
        /// `heartbeat`: a `node.heartbeat`, which the observer may fold without logging.
        case accepted(id: String, key: String, heartbeat: Bool)
        case duplicate(id: String)
        case rejected(id: String?, reason: String)
    }

    /// What each node's agent delivered (`/metrics`, `/summary`).
    struct Delivery {
        var lastPost: Timestamp
        var accepted = 0
        var duplicates = 0
        var rejected = 0

        var json: JSONObject {
            ["lastPost": .string(lastPost.iso8601Milliseconds), "accepted": .int(accepted), "duplicates": .int(duplicates), "rejected": .int(rejected)]
        }
    }

    private unowned let ui: UIService
    private var posts: [String: Post] = [:]
    /// The posts waiting for each key (`source NUL id`).
    private var waiting: [String: [Post]] = [:]
    /// Reads the log's new lines while any post waits; nil otherwise.
    private var cursor: EventLogCursor?
    private(set) var deliveries: [String: Delivery] = [:]
    private(set) var pendingCount = 0

    init(ui: UIService) {
        self.ui = ui
        // Temporaries of a UI that died mid-write: only the UI writes here.
        for entry in listDirectory(ui.root.posted) where entry.name.hasPrefix(".") {
            unlink(ui.root.posted + "/" + entry.name)
        }
    }

    // MARK: The request

    func post(_ request: HTTPRequest, _ connection: HTTPServer.Connection) -> HTTPResponse? {
        let provenance: Provenance
        switch authorize(request, connection) {
        case .success(let granted): provenance = granted
        case .failure(let refusal): return refusal.response
        }
        let node: String? = if case .node(let name) = provenance { name } else { nil }
        if let pause = Self.ingestPause(root: ui.root) {
            return HTTPResponse(status: 503, headers: [("Content-Type", "text/plain; charset=utf-8"), ("Retry-After", "30")],
                                body: Array("ingest is paused: \(pause); nothing was taken, retry later\n".utf8))
        }
        let mediaType = String((request.header("content-type") ?? "").prefix { $0 != ";" }).trimmingWhitespace().lowercased()
        let batch: Bool
        switch mediaType {
        case Self.batched: batch = true
        case Self.structured: batch = false
        default:
            return .text(415, "Content-Type must be \(Self.structured) (one event) or \(Self.batched) (a JSON array of events), not \"\(mediaType)\"")
        }

        let items: [Result<InboxEvent, Rejection>]
        if batch {
            switch EventValidation.validateBatch(request.body) {
            case .success(let validated): items = validated
            case .failure(.tooMany(let count)): return .text(413, "\(count) events in one batch; at most \(EventValidation.maxBatchEvents)")
            case .failure(.notABatch(let reason)): return .text(400, reason)
            }
        } else {
            items = [EventValidation.validate(request.body)]
        }
        // A token used for another node's events is misused: the whole request is refused.
        for case .success(let event) in items {
            if let trespass = provenance.trespass(event) { return .text(403, trespass.reason) }
        }

        var results: [Outcome] = []
        var lines: [UInt8] = []
        var keys: Set<String> = []
        for item in items {
            switch item.flatMap({ event in provenance.forbiddenType(event).map { .failure($0) } ?? .success(event) }) {
            case .failure(let rejection):
                results.append(.rejected(id: nil, reason: rejection.reason))
            case .success(let event) where !keys.insert(event.key).inserted:
                results.append(.duplicate(id: event.id))  // twice in one post
            case .success(let event):
                results.append(.accepted(id: event.id, key: event.key, heartbeat: event.type == "node.heartbeat"))
                lines += event.encoded
            }
        }
        if results.contains(where: { if case .rejected = $0 { true } else { false } }) {
            let ids = Self.attemptedIDs(request.body, batch: batch)
            for (index, result) in results.enumerated() {
                if case .rejected(nil, let reason) = result, index < ids.count { results[index] = .rejected(id: ids[index], reason: reason) }
            }
        }
        if lines.isEmpty { return answer(results, node: node, batch: batch) }

        // Follow the log from its end as it is now, before the observer can see the file.
        if cursor == nil { cursor = EventLogCursor(atEndOf: ui.root.events) }
        let name = "\(Timestamp.now().secondsSinceEpoch)-\(Digest.randomHex(bytes: 8)).jsonl"
        do {
            try AtomicFile.write(lines, to: ui.root.posted + "/" + name, durability: .none)
        } catch {
            ui.logger.error("cannot write \(ui.root.posted)/\(name): \(error)")
            if posts.isEmpty { cursor = nil }
            return .text(503, "the events could not be handed to the observer (\(error)); retry")
        }
        let post = Post(file: name, connection: connection, node: node, batch: batch, results: results)
        posts[name] = post
        pendingCount += 1
        for key in keys { waiting[key, default: []].append(post) }
        connection.answerLater()
        connection.onClose = { [unowned self] in forget(post) }
        post.timer = ui.reactor?.timer(after: ui.settings.ingestWait) { [unowned self] in
            forget(post)
            post.connection.onClose = nil
            post.connection.respond(HTTPResponse(status: 503, headers: [("Content-Type", "text/plain; charset=utf-8"), ("Retry-After", "1")],
                                                 body: Array("the observer has not logged the events yet; retry (a retry is answered duplicate once they are logged)\n".utf8)))
        }
        return nil
    }

    private enum Refusal: Error {
        case missing, wrong, throttled(Int)
        var response: HTTPResponse {
            switch self {
            case .missing:
                HTTPResponse(status: 401, headers: [("Content-Type", "text/plain; charset=utf-8"), ("WWW-Authenticate", "Bearer")],
                             body: Array("posting events needs an agent token or the operator token (Authorization: Bearer TOKEN)\n".utf8))
            case .wrong:
                HTTPResponse(status: 401, headers: [("Content-Type", "text/plain; charset=utf-8"), ("WWW-Authenticate", "Bearer")],
                             body: Array("the token is not a current agent token or the operator token\n".utf8))
            case .throttled(let seconds):
                HTTPResponse(status: 429, headers: [("Content-Type", "text/plain; charset=utf-8"), ("Retry-After", String(seconds))],
                             body: Array("too many wrong tokens from this address; retry in \(seconds) s\n".utf8))
            }
        }
    }

    /// An agent token speaks for its node; the operator's token for anyone but the services.
    private func authorize(_ request: HTTPRequest, _ connection: HTTPServer.Connection) -> Result<Provenance, Refusal> {
        guard let token = request.bearerToken else { return .failure(.missing) }
        if let node = ui.agentTokens.node(for: token) { return .success(.node(node)) }
        switch ui.auth.checkToken(token, from: connection) {
        case .granted: return .success(.producer)
        case .throttled(let seconds): return .failure(.throttled(seconds))
        case .missing, .wrong: return .failure(.wrong)
        }
    }

    /// The `id` each posted item carried, where it had a readable one: what the client matches
    /// a refusal against.
    private static func attemptedIDs(_ body: [UInt8], batch: Bool) -> [String?] {
        guard let document = try? JSONParser.parse(body, maxDepth: 64) else { return [] }
        guard batch else { return [document["id"]?.string] }
        guard case .array(let items) = document else { return [] }
        return items.map { $0["id"]?.string }
    }

    /// The observer's disk guard, as its status says: the reason while ingest is paused.
    static func ingestPause(root: RuntimeRoot) -> String? {
        guard let ingest = ServiceStatus.read("observer", root: root)?.details["ingest"], ingest["paused"]?.bool == true else { return nil }
        return ingest["reason"]?.string ?? "low disk space"
    }

    // MARK: Durability

    /// The log grew: note which waiting events it now holds.
    func logGrew() {
        guard var reading = cursor else { return }
        while true {
            let events = reading.next(maxBytes: 1 << 20)
            if events.isEmpty { break }
            for event in events {
                guard let posts = waiting[event.key] else { continue }
                for post in posts { post.appeared.insert(event.key) }
            }
        }
        cursor = reading
    }

    /// `posted/` changed: a file the observer removed is durable in the log.
    func postedChanged(_ events: [WatchEvent]) {
        let taken = events.compactMap { event -> Post? in
            guard event.kind == .removed, let name = event.path.split(separator: "/").last else { return nil }
            return posts[String(name)]
        }
        guard !taken.isEmpty else { return }
        logGrew()  // its lines were appended before the file was removed
        for post in taken {
            forget(post)
            post.connection.onClose = nil
            for (index, result) in post.results.enumerated() {
                if case .accepted(let id, let key, let heartbeat) = result, !heartbeat, !post.appeared.contains(key) {
                    post.results[index] = .duplicate(id: id)
                }
            }
            post.connection.respond(answer(post.results, node: post.node, batch: post.batch))
        }
    }

    private func forget(_ post: Post) {
        guard posts.removeValue(forKey: post.file) != nil else { return }
        pendingCount -= 1
        post.timer?.cancel()
        for case .accepted(_, let key, _) in post.results {
            waiting[key]?.removeAll { $0 === post }
            if waiting[key]?.isEmpty == true { waiting[key] = nil }
        }
        if posts.isEmpty {
            cursor = nil
            waiting = [:]
        }
    }

    // MARK: The answer

    private func answer(_ results: [Outcome], node: String?, batch: Bool) -> HTTPResponse {
        var list: [JSONValue] = []
        var delivery = node.flatMap { deliveries[$0] } ?? Delivery(lastPost: .now())
        delivery.lastPost = .now()
        for result in results {
            switch result {
            case .accepted(let id, _, _):
                list.append(.object(["id": .string(id), "status": .string("accepted")]))
                delivery.accepted += 1
            case .duplicate(let id):
                list.append(.object(["id": .string(id), "status": .string("duplicate")]))
                delivery.duplicates += 1
            case .rejected(let id, let reason):
                list.append(.object(["id": id.map(JSONValue.string) ?? .null, "status": .string("rejected"), "reason": .string(reason)]))
                delivery.rejected += 1
            }
        }
        if let node { deliveries[node] = delivery }
        // A structured post of one bad event is a bad request; a batch reports each event.
        let status = !batch && results.count == 1 && { if case .rejected = results[0] { true } else { false } }() ? 400 : 200
        return .json(JSONWriter.encode(.object(["results": .array(list)])) + [0x0A], status: status)
    }
}
