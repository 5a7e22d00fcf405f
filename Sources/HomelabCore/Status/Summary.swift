import FSWatch

/// `/summary` (SPEC §7) and `homelab status`: what the world index, the drift report, the
/// action folders, the services' heartbeats, the nodes and the log's last line say, in one object.
public enum Summary {
    /// `deliveries`: what the UI saw each node's agent post (by node), merged into `nodes`.
    public static func build(root: RuntimeRoot, heartbeatSeconds: Int, now: Timestamp = .now(), deliveries: [String: JSONObject] = [:]) -> [UInt8] {
        let index = WorldIndex.read(root.worldIndex)
        let report = DriftReport.read(root.driftReport)

        var drift = JSONObject()
        for (kind, count) in report?.countsByKind ?? Drift.Kind.allCases.map({ ($0, 0) }) { drift[kind.rawValue] = .int(count) }

        var actions = JSONObject()
        for state in RuntimeRoot.ActionState.allCases { actions[state.rawValue] = .int(root.actionIDs(in: state).count) }

        var services = JSONObject()
        for name in ServiceHeartbeat.reported(root: root) {
            let at = ServiceHeartbeat.last(name, root: root)
            let fresh = ServiceHeartbeat.isFresh(at, heartbeatSeconds: heartbeatSeconds, now: now)
            services[name] = .object(["up": .bool(fresh), "heartbeatAt": at.map { .string($0.iso8601Milliseconds) } ?? .null])
        }

        var summary: JSONObject = [
            "generatedAt": .string(now.iso8601),
            "world": .object(["seq": .int(index?.seq ?? 0), "resources": .int(index?.resources ?? 0), "byKind": .object(index?.byKindJSON ?? [:])]),
            "drift": .object(["total": .int(report?.entries.count ?? 0), "byKind": .object(drift)]),
            "actions": .object(actions),
            "services": .object(services),
            "nodes": .object(nodes(root: root, report: report, deliveries: deliveries)),
            // The observer's disk guard, always present: `paused` and, while paused, why.
            "ingest": ServiceStatus.read("observer", root: root)?.details["ingest"] ?? .object(["paused": .bool(false)]),
        ]
        if let last = EventLogCursor.lastEvent(in: root.events) {
            summary["lastEvent"] = .object(["seq": .int(last.seq), "type": .string(last.type), "receivedAt": .string(last.receivedAt)])
        } else {
            summary["lastEvent"] = .null
        }
        return JSONWriter.encode(.object(summary))
    }

    /// Every node in the world (SPEC §11): when it was last heard from, whether that is stale,
    /// its facts as its agent reported them (the agent's own spool depth and gaps among them),
    /// and what the UI saw it post.
    static func nodes(root: RuntimeRoot, report: DriftReport?, deliveries: [String: JSONObject]) -> JSONObject {
        let stale = Set((report?.entries ?? []).filter { $0.drift.kind == .stale && $0.drift.subject.kind == "node" }.map(\.drift.subject.name))
        var nodes = JSONObject()
        for entry in listDirectory(root.worldFolder(kind: "node")) where entry.kind == .regular && entry.name.hasSuffix(".json") && !entry.name.hasPrefix(".") {
            guard let (subject, resource) = WorldResource.read(root.worldFolder(kind: "node") + "/" + entry.name) else { continue }
            let facts = resource.observedObject
            var node: JSONObject = [
                "lastSeen": .string(resource.lastSeen), "stale": .bool(stale.contains(subject.name)), "facts": .object(facts),
            ]
            if let agent = facts["agent"] { node["agent"] = agent }
            if let delivery = deliveries[subject.name] { node["delivery"] = .object(delivery) }
            nodes[subject.name] = .object(node)
        }
        return nodes
    }
}
