#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// `/api/agent/actions`: the relay between the executor's hand-offs (`handoff/NODE/`) and the
/// nodes' agents (docs/remote-actions.md). Agents hold an SSE stream open and are offered
/// their node's unclaimed actions; a claim is a rename (one winner), and the agent's start,
/// output and result land in files the executor reads. A claim belongs to its agent
/// instance's stream: when the stream is gone for longer than the lease, or the agent comes
/// back without the action, the action is ended `interrupted` — never run twice.
final class AgentActions {
    static let path = "/api/agent/actions"
    /// One output chunk, at most (the parser's default body limit is the same).
    static let maxOutput = 64 << 10

    /// One agent's open stream.
    final class Stream {
        let connection: HTTPServer.Connection
        let node: String
        let instance: String
        /// The IDs offered on it already (a watch may report a file twice).
        var offered: Set<String> = []

        init(connection: HTTPServer.Connection, node: String, instance: String) {
            self.connection = connection
            self.node = node
            self.instance = instance
        }
    }

    private unowned let ui: UIService
    private var streams: [ObjectIdentifier: Stream] = [:]
    /// Claims whose agent has no stream, by ID: ended when their timer fires.
    private var leases: [String: LoopTimer] = [:]
    private var root: RuntimeRoot { ui.root }

    init(ui: UIService) {
        self.ui = ui
        // Claims made before this UI started wait for their agent to reconnect.
        for (node, id) in openClaims() { startLease(id, node: node) }
    }

    // MARK: The stream

    /// `GET /api/agent/actions?instance=UUID&running=ID,ID`.
    func open(_ request: HTTPRequest, _ connection: HTTPServer.Connection) -> HTTPResponse? {
        guard let node = ui.agentNode(request) else { return Self.unauthorized }
        guard let instance = request.query["instance"], Self.isValidInstance(instance) else {
            return .text(400, "instance=UUID is required: the agent's run, to which its claims belong")
        }
        let running = Set((request.query["running"] ?? "").split(separator: ",").map(String.init))
        reconcile(node: node, instance: instance, running: running)
        connection.stream(headers: EventStream.head)
        // A cut link closes nothing: without this the lease would never start.
        connection.detectDeadPeer(within: ui.settings.agentLease)
        connection.send(Array(": connected\nretry: 1000\n\n".utf8))
        let stream = Stream(connection: connection, node: node, instance: instance)
        let key = ObjectIdentifier(connection)
        streams[key] = stream
        connection.onClose = { [weak self] in
            guard let self else { return }
            streams[key] = nil
            streamClosed(stream)
        }
        ui.logger.info("the agent of node \(node) (instance \(instance)) connected from \(connection.remoteAddress) for actions")
        for entry in listDirectory(root.handoffFolder(node)) {
            if let (_, id, step) = root.handoffLocation(root.handoffFolder(node) + "/" + entry.name), step == .offered { offer(id, to: stream) }
        }
        return nil
    }

    /// An agent of `node` connected: claims of another instance that has no stream were its
    /// previous run's (it restarted, and its children died with it); its own claims it no
    /// longer runs ended with it. Either way they end interrupted; the rest keep their lease.
    private func reconcile(node: String, instance: String, running: Set<String>) {
        for (claimNode, id) in openClaims() where claimNode == node {
            guard let owner = claimInstance(id, node: node) else { continue }
            if owner == instance {
                if running.contains(id) {
                    cancelLease(id)
                } else {
                    interrupt(id, node: node, "interrupted: the agent of node \(node) came back without it running")
                }
            } else if !hasStream(node: node, instance: owner) {
                interrupt(id, node: node, "interrupted: the agent of node \(node) restarted (instance \(instance); the claim was \(owner)'s)")
            }
        }
    }

    private func streamClosed(_ stream: Stream) {
        ui.logger.info("the agent of node \(stream.node) (instance \(stream.instance)) disconnected")
        guard !hasStream(node: stream.node, instance: stream.instance) else { return }
        for (node, id) in openClaims() where node == stream.node && claimInstance(id, node: node) == stream.instance {
            startLease(id, node: node)
        }
    }

    private func hasStream(node: String, instance: String) -> Bool {
        streams.values.contains { $0.node == node && $0.instance == instance }
    }

    /// `handoff/` changed: new offers go to their node's streams.
    func changed(_ events: [WatchEvent]) {
        for event in events {
            guard let (node, id, step) = root.handoffLocation(event.path), step == .offered else { continue }
            for stream in streams.values where stream.node == node {
                if event.kind == .ready { offer(id, to: stream) } else if event.kind == .removed { stream.offered.remove(id) }
            }
        }
    }

    private func offer(_ id: String, to stream: Stream) {
        guard !stream.offered.contains(id), let handoff = FileContents.object(root.handoff(id, node: stream.node)) else { return }
        stream.offered.insert(id)
        var message = JSONObject()
        for key in ["id", "action", "resource", "argv", "timeoutSeconds"] { message[key] = handoff[key] }
        stream.connection.send(Array("event: offer\ndata: ".utf8) + JSONWriter.encode(.object(message)) + Array("\n\n".utf8))
        ui.logger.info("offered \(id) to the agent of node \(stream.node) (instance \(stream.instance))")
    }

    func keepAlive() {
        for stream in streams.values where stream.connection.pendingBytes == 0 {
            stream.connection.send(Array(": keep-alive\n\n".utf8))
        }
    }

    // MARK: Claim, started, output, result

    /// `POST /api/agent/actions/ID/VERB`.
    func post(_ id: String, _ verb: String, _ request: HTTPRequest, _ connection: HTTPServer.Connection) -> HTTPResponse {
        guard let node = ui.agentNode(request) else { return Self.unauthorized }
        guard let owner = root.handoffNode(id) else { return .text(404, "no action \(id) is handed to an agent") }
        guard owner == node else { return .text(403, "\(id) is not an action of node \(node)") }
        let body = verb == "output" ? nil : (try? JSONParser.parse(request.body))?.object
        guard let instance = verb == "output" ? request.query["instance"] : body?["instance"]?.string, Self.isValidInstance(instance) else {
            return .text(400, verb == "output" ? "?instance=UUID is required" : "the body must be a JSON object with \"instance\"")
        }
        if verb == "claim" { return claim(id, node: node, instance: instance, connection) }
        guard claimInstance(id, node: node) == instance else { return .text(409, "\(id) is not claimed by instance \(instance)") }
        let result = root.handoff(id, node: node, .result)
        if verb == "result" { return record(id, node: node, body ?? [:]) }
        guard fileKind(result) == nil else { return .text(409, "\(id) has ended already") }
        do {
            switch verb {
            case "started":
                var started = JSONObject()
                if let pid = body?["pid"]?.int { started["pid"] = .int(pid) }
                started["startedAt"] = body?["startedAt"] ?? .string(Timestamp.now().iso8601Milliseconds)
                try AtomicFile.write(JSONWriter.encode(.object(started)) + [0x0A], to: root.handoff(id, node: node, .started), durability: .none)
                ui.logger.info("\(id) started on node \(node), pid \(body?["pid"]?.int.map(String.init) ?? "?")")
            default:  // output
                guard request.body.count <= Self.maxOutput else { return .text(413, "an output chunk is at most \(Self.maxOutput) bytes") }
                try FileDescriptor.open(root.actionLog(id), O_WRONLY | O_CREAT | O_APPEND, mode: 0o644).closeAfter { log throws(SystemError) in
                    try log.writeAll(request.body)
                }
            }
        } catch {
            ui.logger.error("\(id): could not write the agent's \(verb): \(error)")
            return .text(503, "could not write it (\(error)); retry")
        }
        return .json(Array(#"{"ok":true}"#.utf8) + [0x0A])
    }

    /// Renames `ID.json` to `ID.claimed.json`: of two claims, exactly one rename succeeds.
    private func claim(_ id: String, node: String, instance: String, _ connection: HTTPServer.Connection) -> HTTPResponse {
        let claimed = root.handoff(id, node: node, .claimed)
        guard rename(root.handoff(id, node: node), claimed) == 0 else {
            // The same instance asking again (its first answer was lost) has it: same answer.
            if claimInstance(id, node: node) == instance, fileKind(root.handoff(id, node: node, .result)) == nil {
                return claimAnswer(id, claimed)
            }
            return .text(409, "\(id) is claimed already, or no longer offered")
        }
        let agent: JSONObject = ["instance": .string(instance), "claimedAt": .string(Timestamp.now().iso8601Milliseconds),
                                 "remoteAddress": .string(connection.remoteAddress)]
        do {
            // Not fsynced (on the path to the child's start): lost to a power cut, the claim has
            // no instance, the agent's reports are refused and the lease ends it as interrupted.
            try AtomicFile.write(JSONWriter.encode(.object(agent)) + [0x0A], to: root.handoff(id, node: node, .agent), durability: .none)
        } catch {
            // Not the agent's: the lease ends it rather than leave it claimed by nobody.
            ui.logger.error("\(id): could not record its claim: \(error)")
            interrupt(id, node: node, "interrupted: the UI could not record the claim (\(error))")
            return .text(503, "could not record the claim")
        }
        ui.logger.info("\(id) claimed by the agent of node \(node) (instance \(instance)) from \(connection.remoteAddress)")
        if !hasStream(node: node, instance: instance) { startLease(id, node: node) }
        return claimAnswer(id, claimed)
    }

    private func claimAnswer(_ id: String, _ claimed: String) -> HTTPResponse {
        let handoff = FileContents.object(claimed) ?? [:]
        let answer: JSONObject = ["id": .string(id), "argv": handoff["argv"] ?? .array([]), "timeoutSeconds": handoff["timeoutSeconds"] ?? .null]
        return .json(JSONWriter.encode(.object(answer)) + [0x0A])
    }

    /// Writes `ID.result.json` once: a repeat of the same result is acknowledged, a different
    /// one (after the lease ended it) refused, so nothing flips an outcome.
    private func record(_ id: String, node: String, _ body: JSONObject) -> HTTPResponse {
        var result = JSONObject()
        for key in ["exitCode", "signal", "startedAt", "finishedAt", "durationMs", "outputTail", "error"] where body[key] != nil {
            result[key] = body[key]
        }
        let bytes = JSONWriter.encode(.object(result)) + [0x0A]
        let path = root.handoff(id, node: node, .result)
        if let existing = FileContents.read(path) {
            return existing == bytes ? .json(Array(#"{"ok":true}"#.utf8) + [0x0A]) : .text(409, "\(id) has ended already with another result")
        }
        do {
            try AtomicFile.write(bytes, to: path)
        } catch {
            ui.logger.error("\(id): could not write the agent's result: \(error)")
            return .text(503, "could not write the result (\(error)); retry")
        }
        cancelLease(id)
        ui.logger.info("\(id) ended on node \(node): \(result["error"]?.string ?? "exit \(result["exitCode"]?.int.map(String.init) ?? "?")")")
        return .json(Array(#"{"ok":true}"#.utf8) + [0x0A])
    }

    // MARK: Leases

    private func startLease(_ id: String, node: String) {
        guard leases[id] == nil, let reactor = ui.reactor else { return }
        let lease = ui.settings.agentLease
        leases[id] = reactor.timer(after: lease) { [unowned self] in
            leases[id] = nil
            interrupt(id, node: node, "interrupted: the agent of node \(node) was gone for longer than its lease (\(lease))")
        }
    }

    private func cancelLease(_ id: String) { leases.removeValue(forKey: id)?.cancel() }

    /// Ends a claimed action: its result says why, and the executor fails it.
    private func interrupt(_ id: String, node: String, _ reason: String) {
        cancelLease(id)
        let path = root.handoff(id, node: node, .result)
        guard fileKind(path) == nil, fileKind(root.handoff(id, node: node, .claimed)) == .regular else { return }
        do {
            try AtomicFile.write(JSONWriter.encode(.object(["error": .string(reason), "exitCode": .null])) + [0x0A], to: path)
            ui.logger.warning("\(id): \(reason)")
        } catch {
            ui.logger.error("\(id): could not write its interrupted result: \(error)")
        }
    }

    // MARK: Files

    /// Claimed hand-offs with no result yet, as (node, ID).
    private func openClaims() -> [(String, String)] {
        var claims: [(String, String)] = []
        for folder in listDirectory(root.handoff) where folder.kind == .directory {
            for entry in listDirectory(root.handoffFolder(folder.name)) {
                guard let (node, id, step) = root.handoffLocation(root.handoffFolder(folder.name) + "/" + entry.name), step == .claimed,
                      fileKind(root.handoff(id, node: node, .result)) == nil else { continue }
                claims.append((node, id))
            }
        }
        return claims
    }

    /// The agent instance whose claim `ID.agent.json` records.
    private func claimInstance(_ id: String, node: String) -> String? {
        FileContents.object(root.handoff(id, node: node, .agent))?["instance"]?.string
    }

    static func isValidInstance(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count) && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 }
    }

    static let unauthorized = HTTPResponse(status: 401, headers: [("Content-Type", "text/plain; charset=utf-8"), ("WWW-Authenticate", "Bearer")],
                                           body: Array("this needs a current agent token (Authorization: Bearer TOKEN)\n".utf8))
}
