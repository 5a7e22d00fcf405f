#if canImport(Glibc)
import Glibc
#endif
import FSWatch

/// The runtime root's layout (SPEC §3): every path a service reads or writes comes from here.
public struct RuntimeRoot: Sendable {
    public let path: String

    public init(_ path: String) {
        var trimmed = path
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.path = trimmed
    }

    /// The states an action file moves through, each a folder under `actions/`.
    public enum ActionState: String, CaseIterable, Sendable {
        case pending, approved, running, done, failed, rejected, superseded
    }

    public var inbox: String { path + "/inbox" }
    /// The services' own events (`action.*`): an inbox that only they write.
    public var audit: String { path + "/audit" }
    /// Events posted over HTTP (`POST /api/events`): one JSON Lines file per request, written
    /// by the UI, taken by the observer like the inbox.
    public var posted: String { path + "/posted" }
    public var rejected: String { path + "/rejected" }
    public var events: String { path + "/events" }
    public var world: String { path + "/world" }
    public var worldIndex: String { world + "/index.json" }
    /// `world/KIND/NAME.json` (NAME's `/` become folders). A folder whose name would end in
    /// `.json` gets a `~` appended (a character no subject may hold), so a resource file and a
    /// folder never share a name — `container/x` and `container/x.json/y`, or the kind
    /// `index.json` and the index — whatever subjects arrive.
    public func worldFile(_ subject: Subject) -> String {
        guard subject.kind.hasSuffix(".json") || subject.name.contains(".json/") else {
            return world + "/" + subject.kind + "/" + subject.name + ".json"  // the usual case
        }
        var segments = [subject.kind] + subject.name.split(separator: "/").map(String.init)
        let file = segments.removeLast() + ".json"
        return world + "/" + segments.map { $0.hasSuffix(".json") ? $0 + "~" : $0 }.joined(separator: "/") + "/" + file
    }

    /// `world/KIND/`: the folder of one kind's files (`world/action/`, the audit trail).
    public func worldFolder(kind: String) -> String {
        world + "/" + (kind.hasSuffix(".json") ? kind + "~" : kind)
    }

    /// `audit/decision-VERDICT.ID.json`, an operator decision's event; `staged` is its hidden
    /// name until the decision is made (`OperatorDecision`).
    public func decisionEvent(_ verdict: String, id: String, staged: Bool = false) -> String {
        audit + (staged ? "/.decision-" : "/decision-") + verdict + "." + id + ".json"
    }

    /// The resource whose file `path` is (`worldFile` read backwards); nil for the index,
    /// temporaries and anything else. Actions' audit files are included (kind `action`).
    public func worldSubject(_ path: String) -> Subject? {
        guard path.hasPrefix(world + "/"), path.hasSuffix(".json"), path != worldIndex else { return nil }
        var segments = path.dropFirst(world.count + 1).dropLast(5).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard segments.count >= 2 else { return nil }
        for index in segments.indices.dropLast() {
            if segments[index].hasSuffix(".json~") {
                segments[index].removeLast()
            } else if segments[index].hasSuffix(".json") || segments[index].hasSuffix("~") {
                return nil  // not a name worldFile makes
            }
        }
        return try? Subject.parse(segments.joined(separator: "/")).get()
    }

    public var state: String { path + "/state" }
    public var observerCheckpoint: String { state + "/observer_checkpoint.json" }
    /// `state/thinned_heartbeats.json`: nodes' `lastSeen` from heartbeats not logged (the observer's).
    public var thinnedHeartbeats: String { state + "/thinned_heartbeats.json" }
    /// `state/snapshots/SEQ.jsonl`: the world as the fold of the log up to SEQ (the observer's).
    public var snapshots: String { state + "/snapshots" }
    public var driftReport: String { state + "/drift.json" }
    public var actions: String { path + "/actions" }
    public var logs: String { path + "/logs" }
    public var actionLogs: String { logs + "/actions" }
    public var secrets: String { path + "/secrets" }
    public var uiToken: String { secrets + "/ui-token" }
    /// Mixed into the UI's session cookies: deleting or rewriting it signs every browser out.
    public var sessionSecret: String { secrets + "/session-secret" }

    public func actions(_ state: ActionState) -> String { actions + "/" + state.rawValue }
    /// `actions/STATE/ID.json`, the one place an action ID becomes a path.
    public func action(_ id: String, in state: ActionState) -> String { actions(state) + "/" + id + ".json" }
    /// `logs/actions/ID.log`: an action's output.
    public func actionLog(_ id: String) -> String { actionLogs + "/" + id + ".log" }
    /// `state/executor/`: a folder per running action (its HOME), and beside each `ID.run`.
    public var executorWork: String { state + "/executor" }
    public func executorWork(_ id: String) -> String { executorWork + "/" + id }
    /// `state/executor/ID.run`: the running action's process group and boot.
    public func executorRunMarker(_ id: String) -> String { executorWork(id) + ".run" }
    public func serviceState(_ service: String) -> String { state + "/\(service).json" }
    public func serviceLock(_ service: String) -> String { state + "/\(service).lock" }
    public func serviceLog(_ service: String) -> String { logs + "/\(service).log" }

    /// The action a path under `actions/` names, and the state its folder says; nil for
    /// anything else (temporaries, hidden spares, other folders).
    public func actionLocation(_ path: String) -> (id: String, state: ActionState)? {
        let parts = path.split(separator: "/")
        guard parts.count >= 2, let file = parts.last, file.hasSuffix(".json"), !file.hasPrefix("."),
              let state = ActionState(rawValue: String(parts[parts.count - 2])) else { return nil }
        return (String(file.dropLast(5)), state)
    }

    /// The IDs of the actions in one state's folder, in name order.
    public func actionIDs(in state: ActionState) -> [String] {
        listDirectory(actions(state)).compactMap { entry in
            entry.name.hasSuffix(".json") && !entry.name.hasPrefix(".") ? String(entry.name.dropLast(5)) : nil
        }.sorted()
    }

    /// Where the action `id` is now, looking in every state's folder.
    public func actionState(_ id: String) -> ActionState? {
        ActionState.allCases.first { fileKind(action(id, in: $0)) == .regular }
    }
    /// `secrets/agents/`: one `NODE.token` per node agent (SPEC §11).
    public var agentTokens: String { secrets + "/agents" }
    public func agentToken(_ node: String) -> String { agentTokens + "/" + node + ".token" }

    /// `handoff/`: actions run by a node's agent (docs/remote-actions.md). The executor writes
    /// `NODE/ID.json`; the UI, as the agents' relay, everything else.
    public var handoff: String { path + "/handoff" }
    public func handoffFolder(_ node: String) -> String { handoff + "/" + node }

    /// The files of one hand-off, `handoff/NODE/ID.json` and `ID.STEP.json` beside it.
    public enum HandoffStep: String, CaseIterable, Sendable {
        /// `ID.json`: offered, not yet claimed (the executor).
        case offered = ""
        /// `ID.claimed.json`: `ID.json` renamed by the claim that won.
        case claimed
        /// `ID.agent.json`: which agent instance claimed it, and when.
        case agent
        /// `ID.started.json`: the agent started the child.
        case started
        /// `ID.result.json`: how it ended — the agent's word, or the lease's.
        case result
    }

    public func handoff(_ id: String, node: String, _ step: HandoffStep = .offered) -> String {
        handoffFolder(node) + "/" + id + (step == .offered ? "" : "." + step.rawValue) + ".json"
    }

    /// The hand-off file `path` is (`handoff` read backwards); nil for anything else.
    public func handoffLocation(_ path: String) -> (node: String, id: String, step: HandoffStep)? {
        guard path.hasPrefix(handoff + "/"), path.hasSuffix(".json") else { return nil }
        let parts = path.dropFirst(handoff.count + 1).dropLast(5).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, Subject.isValidNodeName(String(parts[0])), !parts[1].hasPrefix(".") else { return nil }
        // By the suffix: an ID may hold dots of its own.
        let name = String(parts[1])
        for step in HandoffStep.allCases where step != .offered && name.hasSuffix("." + step.rawValue) {
            return (String(parts[0]), String(name.dropLast(step.rawValue.count + 1)), step)
        }
        return (String(parts[0]), name, .offered)
    }

    /// The node whose folder holds a hand-off of `id` (any of its files), if one does.
    public func handoffNode(_ id: String) -> String? {
        listDirectory(handoff).first { folder in
            folder.kind == .directory && HandoffStep.allCases.contains { fileKind(handoff(id, node: folder.name, $0)) == .regular }
        }?.name
    }

    /// `requests/propose/`: operators asking the supervisor for a proposal now (`homelab
    /// propose`, `POST /api/propose`), one `ProposeRequest` per file; the supervisor removes each.
    public var requests: String { path + "/requests" }
    public var proposeRequests: String { requests + "/propose" }

    /// `notify/`: the notifier's own (docs/notifications.md). `outbox/KEY.json` holds each
    /// message until every target took it; `state.json` is how far the log was read, and what
    /// the notifier last said about nodes, services and flapping resources.
    public var notify: String { path + "/notify" }
    public var notifyOutbox: String { notify + "/outbox" }
    public func notifyMessage(_ key: String) -> String { notifyOutbox + "/" + key + ".json" }
    public var notifyState: String { notify + "/state.json" }

    /// A secret a notify target names by reference (`"tokenFile": "notify/gotify.token"`),
    /// relative to `secrets/`; nil for a reference that would leave it (absolute, `..`, hidden).
    public func secret(_ reference: String) -> String? {
        let parts = reference.split(separator: "/", omittingEmptySubsequences: false)
        guard !reference.hasPrefix("/"), !parts.isEmpty,
              parts.allSatisfy({ !$0.isEmpty && !$0.hasPrefix(".") }) else { return nil }
        return secrets + "/" + reference
    }

    /// `events/YYYY-MM-DD`, the log folder of one UTC day.
    public func eventDay(_ day: String) -> String { events + "/" + day }

    /// Every folder of the layout with its mode: secrets are the operator's alone.
    public var folders: [(path: String, mode: mode_t)] {
        var list: [(String, mode_t)] = [
            (path, 0o755), (inbox, 0o775), (audit, 0o755), (posted, 0o755), (rejected, 0o755), (events, 0o755), (world, 0o755),
            (state, 0o755), (actions, 0o755), (logs, 0o755), (actionLogs, 0o755), (secrets, 0o700),
            (agentTokens, 0o700), (handoff, 0o755), (requests, 0o755), (proposeRequests, 0o775), (notify, 0o755), (notifyOutbox, 0o755),
        ]
        for state in ActionState.allCases { list.append((actions(state), 0o775)) }
        return list
    }

    /// Creates whatever part of the layout is missing; existing folders are left as they are.
    public func create() throws(SystemError) {
        for (folder, mode) in folders {
            let result = mkdir(folder, mode)
            if result != 0 {
                let errno = Errno.current
                if errno != .fileExists { throw SystemError("mkdir", errno, subject: folder) }
            } else {
                chmod(folder, mode)  // mkdir's mode is filtered by the umask
            }
        }
    }
}
