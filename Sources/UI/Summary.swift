import FSWatch
import HomelabCore

/// `/summary` (SPEC §7): what the world, the drift report, the queue and the services say.
public enum Summary {
    public static func build(root: RuntimeRoot, heartbeatSeconds: Int, now: Timestamp = .now()) -> [UInt8] {
        let index = FileContents.object(root.worldIndex)
        let byKind = index?["byKind"]?.object ?? [:]
        let resources = byKind.reduce(0) { $0 + ($1.value.int ?? 0) }

        var drift: JSONObject = ["missing": .int(0), "mismatch": .int(0), "stale": .int(0), "unmanaged": .int(0)]
        var total = 0
        for entry in FileContents.object(root.driftReport)?["drift"]?.array ?? [] {
            guard let kind = entry["kind"]?.string else { continue }
            drift[kind] = .int((drift[kind]?.int ?? 0) + 1)
            total += 1
        }

        var actions = JSONObject()
        for state in RuntimeRoot.ActionState.allCases {
            actions[state.rawValue] = .int(listDirectory(root.actions(state)).filter { $0.name.hasSuffix(".json") && !$0.name.hasPrefix(".") }.count)
        }

        var services = JSONObject()
        for name in ServiceHeartbeat.services {
            let at = ServiceHeartbeat.last(name, root: root)
            let fresh = ServiceHeartbeat.isFresh(at, heartbeatSeconds: heartbeatSeconds, now: now)
            services[name] = .object(["up": .bool(fresh), "heartbeatAt": at.map { .string($0.iso8601Milliseconds) } ?? .null])
        }

        var summary: JSONObject = [
            "generatedAt": .string(now.iso8601),
            "world": .object(["seq": index?["seq"] ?? .int(0), "resources": .int(resources), "byKind": .object(byKind)]),
            "drift": .object(["total": .int(total), "byKind": .object(drift)]),
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

/// `/metrics` in the Prometheus text format, from the summary and the services' counters.
enum Metrics {
    static func render(summary bytes: [UInt8], sseClients: Int, sseMaxQueuedBytes: Int, connections: Int, root: RuntimeRoot) -> [UInt8] {
        let summary = (try? JSONParser.parse(bytes))?.object ?? [:]
        var lines: [String] = []
        func metric(_ name: String, _ help: String, _ type: String, _ samples: [(labels: String, value: String)]) {
            lines.append("# HELP \(name) \(help)")
            lines.append("# TYPE \(name) \(type)")
            for sample in samples { lines.append("\(name)\(sample.labels.isEmpty ? "" : "{\(sample.labels)}") \(sample.value)") }
        }
        let observer = FileContents.object(root.serviceState("observer"))?["counters"]?.object ?? [:]
        metric("homelab_events_ingested_total", "Events accepted into the log.", "counter", [("", JSONWriter.string(observer["accepted"] ?? .int(0)))])
        metric("homelab_events_rejected_total", "Inbox files rejected.", "counter", [("", JSONWriter.string(observer["rejected"] ?? .int(0)))])
        metric("homelab_inotify_overflows_total", "Observer inbox queue overflows (each followed by a rescan).", "counter", [("", JSONWriter.string(observer["inotifyOverflows"] ?? .int(0)))])
        metric("homelab_world_seq", "Last event folded into the world.", "gauge", [("", JSONWriter.string(summary["world"]?["seq"] ?? .int(0)))])
        metric("homelab_resources", "World resources by kind.", "gauge",
               (summary["world"]?["byKind"]?.object ?? [:]).map { ("kind=\"\($0.key)\"", JSONWriter.string($0.value)) })
        metric("homelab_drift", "Current drift by kind.", "gauge",
               (summary["drift"]?["byKind"]?.object ?? [:]).map { ("kind=\"\($0.key)\"", JSONWriter.string($0.value)) })
        metric("homelab_actions", "Actions by state.", "gauge",
               (summary["actions"]?.object ?? [:]).map { ("state=\"\($0.key)\"", JSONWriter.string($0.value)) })
        let executor = FileContents.object(root.serviceState("executor"))?["counters"]?.object ?? [:]
        metric("homelab_executor_actions_total", "Actions the executor finished, by outcome.", "counter", [
            ("outcome=\"succeeded\"", JSONWriter.string(executor["succeeded"] ?? .int(0))),
            ("outcome=\"failed\"", JSONWriter.string(executor["failed"] ?? .int(0))),
        ])
        lines.append("# HELP homelab_executor_duration_seconds Run time of the actions the executor ran.")
        lines.append("# TYPE homelab_executor_duration_seconds summary")
        lines.append("homelab_executor_duration_seconds_sum \(JSONWriter.string(executor["durationSecondsSum"] ?? .int(0)))")
        lines.append("homelab_executor_duration_seconds_count \(JSONWriter.string(executor["durationCount"] ?? .int(0)))")
        metric("homelab_sse_clients", "Connected Server-Sent Events clients.", "gauge", [("", String(sseClients))])
        metric("homelab_sse_max_queued_bytes", "The most bytes ever queued for one Server-Sent Events client.", "gauge", [("", String(sseMaxQueuedBytes))])
        metric("homelab_http_connections", "Open HTTP connections.", "gauge", [("", String(connections))])
        let now = Timestamp.now()
        metric("homelab_heartbeat_age_seconds", "Seconds since each service's last heartbeat.", "gauge", ServiceHeartbeat.services.compactMap { name in
            guard let at = ServiceHeartbeat.last(name, root: root) else { return nil }
            return ("service=\"\(name)\"", String(format2: at.seconds(until: now)))
        })
        return Array((lines.joined(separator: "\n") + "\n").utf8)
    }
}
