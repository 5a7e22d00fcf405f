import FSWatch

/// `/summary` (SPEC §7) and `homelab status`: what the world index, the drift report, the
/// action folders, the services' heartbeats and the log's last line say, in one object.
public enum Summary {
    public static func build(root: RuntimeRoot, heartbeatSeconds: Int, now: Timestamp = .now()) -> [UInt8] {
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
        ]
        if let last = EventLogCursor.lastEvent(in: root.events) {
            summary["lastEvent"] = .object(["seq": .int(last.seq), "type": .string(last.type), "receivedAt": .string(last.receivedAt)])
        } else {
            summary["lastEvent"] = .null
        }
        return JSONWriter.encode(.object(summary))
    }
}
