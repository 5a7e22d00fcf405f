#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// The operator UI (SPEC §7): the HTTP API, `/summary`, Server-Sent Events and the dashboard,
/// on one loop with the watches that keep them current.
public final class UIService: Service {
    public static let service = "ui"

    public struct Settings: Sendable {
        public var address = "0.0.0.0:8080"
        public var token = ""
        /// `HOMELAB_UI_AUTH=all`: reads need the token too.
        public var protectReads = false
        public var http = HTTPServer.Settings()
        /// How long `POST /api/events` waits for the observer to log what it took (then 503).
        public var ingestWait: Duration = .seconds(30)
        /// How long an agent's claimed action outlives the agent's stream before it is ended
        /// interrupted (docs/remote-actions.md).
        public var agentLease: Duration = .seconds(60)
        public init() {}
    }

    let root: RuntimeRoot
    let logger: Logger
    var settings: Settings
    private let heartbeatSeconds: Int
    weak var reactor: Reactor?
    private(set) var server: HTTPServer?
    private var watches: [DirectoryWatch] = []
    private var summaryCache: (bytes: [UInt8], at: MonotonicTime)?
    var stream: EventStream!
    private(set) var ingest: EventIngest!
    private(set) var agentActions: AgentActions!
    /// The node agents' tokens, for `POST /api/events` and `/api/agent/actions`.
    private(set) lazy var agentTokens = AgentTokens(root: root)
    private var world: WorldCache!
    private lazy var eventIndex = EventIndex(folder: root.events)
    private var driftHistory: DriftHistory!
    let auth: OperatorAuth
    public var port: UInt16 { server?.port ?? 0 }

    public init(configuration: Configuration, logger: Logger, settings: Settings) {
        root = configuration.root
        self.logger = logger
        self.settings = settings
        self.settings.http.limits.largeBodies[EventIngest.path] = EventIngest.maxBody
        heartbeatSeconds = configuration.heartbeatSeconds
        auth = OperatorAuth(token: settings.token, secretPath: root.sessionSecret, logger: logger)
    }

    public func shutdown() {
        server?.close()
        logger.info("stopped")
    }

    public func start(on reactor: Reactor) throws {
        self.reactor = reactor
        OperatorDecision.recoverAll(root: root)  // decisions whose process died before publishing their event
        stream = EventStream(ui: self)
        ingest = EventIngest(ui: self)
        agentActions = AgentActions(ui: self)
        world = WorldCache(root: root)
        driftHistory = DriftHistory(reportPath: root.driftReport, reactor: reactor)
        server = try HTTPServer(reactor: reactor, address: settings.address, settings: settings.http) { [unowned self] request, connection in
            route(request, connection)
        }
        server?.warn = { [logger] in logger.warning($0) }
        watches = [
            try DirectoryWatch(reactor: reactor, root: root.world, options: .recursive) { [unowned self] events in
                world.apply(events)
                changed(.world, events)
            },
            try DirectoryWatch(reactor: reactor, root: root.actions, options: .recursive) { [unowned self] events in
                changed(.action, events)
            },
            try DirectoryWatch(reactor: reactor, root: root.state) { [unowned self] events in
                let drift = events.contains { $0.path == root.driftReport }
                if drift { driftHistory.reportChanged() }
                changed(drift ? .drift : .summary, events)
            },
            try DirectoryWatch(reactor: reactor, root: root.events, options: [.recursive, .appends]) { [unowned self] _ in
                summaryCache = nil
                stream.logGrew()
                ingest.logGrew()
            },
            try DirectoryWatch(reactor: reactor, root: root.posted) { [unowned self] events in
                ingest.postedChanged(events)
            },
            try DirectoryWatch(reactor: reactor, root: root.actionLogs, options: .appends) { [unowned self] events in
                changed(.output, events)
            },
            try DirectoryWatch(reactor: reactor, root: root.handoff, options: .recursive) { [unowned self] events in
                agentActions.changed(events)
            },
        ]
        reactor.timer(after: .seconds(15), repeating: .seconds(15)) { [unowned self] in
            stream.keepAlive()
            agentActions.keepAlive()
        }
        logger.info("listening on \(settings.address.split(separator: ":").dropLast().joined(separator: ":")):\(port)\(settings.protectReads ? " (reads need the token)" : "")")
    }

    private func changed(_ kind: EventStream.Kind, _ events: [WatchEvent]) {
        summaryCache = nil
        stream.changed(kind, paths: events.map(\.path))
    }

    // MARK: Routes

    /// The allow-list: a path is one of these, or 404. Nothing maps onto the filesystem
    /// except through names checked against the resource and action grammars.
    func route(_ request: HTTPRequest, _ connection: HTTPServer.Connection) -> HTTPResponse? {
        let isRead = request.method == "GET" || request.method == "HEAD"
        func only(_ allowed: StaticString, _ answer: () -> HTTPResponse?) -> HTTPResponse? {
            let list = allowed.description
            guard list == request.method || list.hasPrefix(request.method + ",") || list.hasSuffix(" " + request.method)
                    || list.contains(" " + request.method + ",")
            else { return HTTPResponse(status: 405, headers: [("Allow", list)]) }
            if isRead && settings.protectReads && request.path != "/healthz" && !Dashboard.paths.contains(request.path)
                && request.path != AgentActions.path && request.path != "/api/session",  // an agent's token, not the operator's
               let refusal = refusal(auth.check(request, from: connection), "this UI needs the operator token (HOMELAB_UI_AUTH=all)") {
                return refusal
            }
            return answer()
        }
        if let asset = Dashboard.assets[request.path] { return only("GET, HEAD") { asset } }
        switch request.path {
        case "/healthz": return only("GET, HEAD") { .text(200, "ok") }
        case "/summary": return only("GET, HEAD") { .json(summary()) }
        case "/metrics": return only("GET, HEAD") { HTTPResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4")], body: metrics()) }
        case "/stream": return only("GET, HEAD") { request.method == "HEAD" ? EventStream.head : stream.open(request, connection) }
        case "/api/session": return only("GET, HEAD, POST") { request.method == "POST" ? session(request, connection) : sessionState(request, connection) }
        case "/api/session/logout": return only("POST") { signOut(request) }
        case "/api/drift": return only("GET, HEAD") { file(root.driftReport, empty: #"{"drift":[]}"#) }
        case "/api/drift/history": return only("GET, HEAD") { .json(driftHistory.json) }
        case "/api/world": return only("GET, HEAD") { worldList(request) }
        case "/api/events": return only("GET, HEAD, POST") { request.method == "POST" ? ingest.post(request, connection) : events(request) }
        case "/api/actions": return only("GET, HEAD") { actionList(request.query["state"]) }
        case "/api/propose": return only("POST") { propose(request, connection) }
        case AgentActions.path: return only("GET") { agentActions.open(request, connection) }
        default: break
        }
        let segments = request.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        if segments.count >= 3 && segments[0] == "api" && segments[1] == "world" {
            return only("GET, HEAD") {
                guard case .success(let subject) = Subject.parse(segments[2...].joined(separator: "/")) else { return .text(404, "no such resource") }
                return file(root.worldFile(subject), empty: nil)
            }
        }
        if segments.count == 5 && segments[0] == "api" && segments[1] == "agent" && segments[2] == "actions" && OperatorDecision.isValidID(segments[3]),
           ["claim", "started", "output", "result"].contains(segments[4]) {
            return only("POST") { agentActions.post(segments[3], segments[4], request, connection) }
        }
        if segments.count >= 3 && segments.count <= 4 && segments[0] == "api" && segments[1] == "actions" && OperatorDecision.isValidID(segments[2]) {
            let id = segments[2]
            switch segments.count == 4 ? segments[3] : "" {
            case "": return only("GET, HEAD") { root.actionState(id).map { file(root.action(id, in: $0), empty: nil) } ?? .text(404, "no action \(id)") }
            case "log": return only("GET, HEAD") { file(root.actionLog(id), empty: nil, type: "text/plain; charset=utf-8") }
            case "approve": return only("POST") { decide(.approve, id, request, connection) }
            case "reject": return only("POST") { decide(.reject, id, request, connection) }
            default: break
            }
        }
        return .text(404, "no such page")
    }

    /// The node an agent's `Authorization: Bearer TOKEN` speaks for; nil without a current one.
    func agentNode(_ request: HTTPRequest) -> String? {
        request.bearerToken.flatMap(agentTokens.node(for:))
    }

    private func file(_ path: String, empty: String?, type: String = "application/json") -> HTTPResponse {
        if let bytes = FileContents.read(path) { return HTTPResponse(status: 200, headers: [("Content-Type", type)], body: bytes) }
        if let empty { return .json(Array(empty.utf8)) }
        return .text(404, "not found")
    }

    private func actionList(_ state: String?) -> HTTPResponse {
        let states: [RuntimeRoot.ActionState]
        if let state {
            guard let parsed = RuntimeRoot.ActionState(rawValue: state) else { return .text(400, "no state \"\(state)\"") }
            states = [parsed]
        } else {
            states = RuntimeRoot.ActionState.allCases
        }
        var writer = JSONWriter()
        writer.appendRaw("[")
        var first = true
        for state in states {
            for id in root.actionIDs(in: state) {
                guard var object = ActionFile.read(root.action(id, in: state))?.json else { continue }
                object["state"] = .string(state.rawValue)
                if !first { writer.appendRaw(",") }
                first = false
                writer.write(.object(object))
            }
        }
        writer.appendRaw("]")
        return .json(writer.bytes)
    }

    /// `?after=KIND/NAME&limit=N` (default 1000, at most 10 000), in `KIND/NAME` order, from
    /// memory; a `Link: <…>; rel="next"` header names the next page while there is one.
    private func worldList(_ request: HTTPRequest) -> HTTPResponse {
        let limit = Int(request.query["limit"] ?? "1000") ?? -1
        guard (1...10_000).contains(limit) else { return .text(400, "limit must be 1…10000") }
        let (bytes, next) = world.page(after: request.query["after"], limit: limit)
        var response = HTTPResponse.json(bytes)
        if let next { response.headers.append(("Link", "</api/world?after=\(Self.queryEscaped(next))&limit=\(limit)>; rel=\"next\"")) }
        return response
    }

    /// Percent-escapes all but unreserved characters and `/` (a name may hold any of them).
    static func queryEscaped(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += (byte < 16 ? "%0" : "%") + String(byte, radix: 16, uppercase: true)
            }
        }
        return out
    }

    private func events(_ request: HTTPRequest) -> HTTPResponse {
        let after = Int(request.query["after"] ?? "0") ?? -1
        let limit = Int(request.query["limit"] ?? "100") ?? -1
        guard after >= 0, (1...1000).contains(limit) else { return .text(400, "after must be a seq ≥ 0 and limit 1…1000") }
        if let oldest = eventIndex.oldestSeq, after < oldest - 1 {
            // Retention removed what was asked for: the client must reload the world (docs/ui.md).
            return .json(JSONWriter.encode(.object(["error": .string("resync"), "oldestSeq": .int(oldest)])), status: 410)
        }
        var writer = JSONWriter()
        writer.appendRaw("[")
        // An `after` past the end of the log (up to Int.max) is simply an empty list.
        var cursor = eventIndex.cursor(after: after)
        var events: [LoggedEvent] = []
        while events.count < limit {
            // Small reads: the index put the cursor within a few lines of the first event.
            let page = cursor.next(maxBytes: 64 << 10, maxEvents: limit - events.count)
            if page.isEmpty { break }
            events += page
        }
        for (index, event) in events.enumerated() {
            if index > 0 { writer.appendRaw(",") }
            writer.write(.object(event.envelope))
        }
        writer.appendRaw("]")
        return .json(writer.bytes)
    }

    // MARK: Operator decisions

    /// An operator's write (approve, reject, propose): same-origin, the operator token or
    /// session, then `act` with the name the page or client gives (`X-Operator`, 64 characters
    /// at most) for the audit.
    func asOperator(_ request: HTTPRequest, _ connection: HTTPServer.Connection, needs what: String, _ act: (String) -> HTTPResponse) -> HTTPResponse {
        if let refusal = crossSite(request) { return .text(403, refusal) }
        if let refusal = refusal(auth.check(request, from: connection), what) { return refusal }
        return act(request.header("x-operator").map { String($0.prefix(64)) } ?? "operator")
    }

    private func decide(_ verdict: OperatorDecision.Verdict, _ id: String, _ request: HTTPRequest, _ connection: HTTPServer.Connection) -> HTTPResponse {
        asOperator(request, connection, needs: "approve and reject need the operator token") { name in decide(verdict, id, by: name, from: connection) }
    }

    private func decide(_ verdict: OperatorDecision.Verdict, _ id: String, by name: String, from connection: HTTPServer.Connection) -> HTTPResponse {
        do {
            switch try OperatorDecision.decide(verdict, id: id, root: root, operator: name, remote: connection.remoteAddress) {
            case .done:
                logger.info("\(id) \(verdict == .approve ? "approved" : "rejected") by \(name) from \(connection.remoteAddress)")
                return .json(JSONWriter.encode(.object(["id": .string(id), "state": .string(verdict == .approve ? "approved" : "rejected")])))
            case .unknown:
                return .text(404, "no action \(id)")
            case .notPending(let state):
                return .text(409, "\(id) is no longer pending: it is \(state)")
            }
        } catch {
            logger.error("deciding \(id): \(error)")
            return .text(500, "could not record the decision")
        }
    }

    /// Go's CrossOriginProtection, in short: safe methods pass; `Sec-Fetch-Site: same-origin`
    /// or `none` passes; otherwise an `Origin` must name this host; neither header means a
    /// non-browser client, and the token decides.
    func crossSite(_ request: HTTPRequest) -> String? {
        if let site = request.header("sec-fetch-site") {
            return site == "same-origin" || site == "none" ? nil : "cross-site request refused (Sec-Fetch-Site: \(site))"
        }
        if let origin = request.header("origin") {
            let host = origin.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first.map(String.init)
            return host == request.header("host") ? nil : "cross-site request refused (Origin \(origin))"
        }
        return nil
    }

    /// The answer for credentials that do not pass: 401, or 429 with `Retry-After` for a peer
    /// throttled after wrong tokens; nil when they pass.
    func refusal(_ verdict: OperatorAuth.Verdict, _ message: String) -> HTTPResponse? {
        switch verdict {
        case .granted: return nil
        case .missing, .wrong: return .text(401, message)
        case .throttled(let seconds):
            var response = HTTPResponse.text(429, "too many wrong tokens from this address: try again in \(seconds) s")
            response.headers.append(("Retry-After", String(seconds)))
            return response
        }
    }

    /// The token in the body → a session cookie that proves it without carrying it, for
    /// `OperatorAuth.sessionLifetime`.
    private func session(_ request: HTTPRequest, _ connection: HTTPServer.Connection) -> HTTPResponse {
        if let refusal = crossSite(request) { return .text(403, refusal) }
        let token = String(decoding: request.body, as: UTF8.self).trimmingWhitespace()
        if let refusal = refusal(auth.checkToken(token, from: connection), "wrong token") { return refusal }
        do {
            let (value, maxAge) = try auth.newSession()
            return HTTPResponse(status: 204, headers: [("Set-Cookie", "\(OperatorAuth.cookieName)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Strict")])
        } catch {
            logger.error("signing in: \(error)")
            return .text(500, "could not make a session")
        }
    }

    // MARK: Summary and metrics

    /// `/summary` (SPEC §7), kept in memory and rebuilt only after a change (or once a
    /// second, for the services' heartbeat ages).
    func summary() -> [UInt8] {
        if let cache = summaryCache, MonotonicTime.now() - cache.at < .seconds(1) { return cache.bytes }
        let bytes = Summary.build(root: root, heartbeatSeconds: heartbeatSeconds, deliveries: ingest.deliveries.mapValues(\.json))
        summaryCache = (bytes, MonotonicTime.now())
        return bytes
    }

    private func metrics() -> [UInt8] {
        Metrics.render(summary: summary(), diskFreeBytes: Metrics.freeBytes(root.path), sseClients: stream.clientCount, sseMaxQueuedBytes: stream.maxQueuedBytes, connections: server?.connectionCount ?? 0, httpMaxQueuedBytes: server?.maxQueuedBytes ?? 0, root: root)
    }

    public var statusDetails: JSONObject {
        ["port": .int(Int(port)), "sseClients": .int(stream?.clientCount ?? 0), "connections": .int(server?.connectionCount ?? 0)]
    }
}
