#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// `/metrics` in the Prometheus text format, from the summary and the services' counters.
enum Metrics {
    /// Free bytes for unprivileged writers on `path`'s file system. The corresponding C function is `statvfs`.
    static func freeBytes(_ path: String) -> Int? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        return Int(info.f_bavail) * Int(info.f_frsize)
    }

    static func render(summary bytes: [UInt8], diskFreeBytes: Int?, sseClients: Int, sseMaxQueuedBytes: Int, connections: Int, httpMaxQueuedBytes: Int, root: RuntimeRoot) -> [UInt8] {
        let summary = (try? JSONParser.parse(bytes))?.object ?? [:]
        var lines: [String] = []
        func metric(_ name: String, _ help: String, _ type: String, _ samples: [(labels: String, value: String)]) {
            lines.append("# HELP \(name) \(help)")
            lines.append("# TYPE \(name) \(type)")
            for sample in samples { lines.append("\(name)\(sample.labels.isEmpty ? "" : "{\(sample.labels)}") \(sample.value)") }
        }
        let observer = ObserverCounters(ServiceStatus.read("observer", root: root)?.counters ?? [:])
        metric("homelab_events_ingested_total", "Events accepted into the log.", "counter", [("", String(observer.accepted))])
        metric("homelab_events_rejected_total", "Inbox files rejected.", "counter", [("", String(observer.rejected))])
        metric("homelab_events_duplicates_total", "Events not logged again: their (source, id) was already in the log.", "counter", [("", String(observer.duplicates))])
        metric("homelab_inotify_overflows_total", "Observer inbox queue overflows (each followed by a rescan).", "counter", [("", String(observer.inotifyOverflows))])
        metric("homelab_ingest_paused", "Whether the observer has paused ingest for want of disk space (1) or not (0).", "gauge",
               [("", summary["ingest"]?["paused"]?.bool == true ? "1" : "0")])
        if let diskFreeBytes {
            metric("homelab_disk_free_bytes", "Free bytes on the runtime root's file system (HOMELAB_MIN_FREE_MB pauses ingest below it).", "gauge",
                   [("", String(diskFreeBytes))])
        }
        metric("homelab_world_seq", "Last event folded into the world.", "gauge", [("", JSONWriter.string(summary["world"]?["seq"] ?? .int(0)))])
        metric("homelab_resources", "World resources by kind.", "gauge",
               (summary["world"]?["byKind"]?.object ?? [:]).map { ("kind=\"\($0.key)\"", JSONWriter.string($0.value)) })
        metric("homelab_drift", "Current drift by kind.", "gauge",
               (summary["drift"]?["byKind"]?.object ?? [:]).map { ("kind=\"\($0.key)\"", JSONWriter.string($0.value)) })
        metric("homelab_actions", "Actions by state.", "gauge",
               (summary["actions"]?.object ?? [:]).map { ("state=\"\($0.key)\"", JSONWriter.string($0.value)) })
        let executor = ExecutorCounters(ServiceStatus.read("executor", root: root)?.counters ?? [:])
        metric("homelab_executor_actions_total", "Actions the executor finished, by outcome.", "counter", [
            ("outcome=\"succeeded\"", String(executor.succeeded)),
            ("outcome=\"failed\"", String(executor.failed)),
        ])
        lines.append("# HELP homelab_executor_duration_seconds Run time of the actions the executor ran.")
        lines.append("# TYPE homelab_executor_duration_seconds summary")
        lines.append("homelab_executor_duration_seconds_sum \(String(format2: executor.durationSecondsSum))")
        lines.append("homelab_executor_duration_seconds_count \(executor.durationCount)")
        metric("homelab_sse_clients", "Connected Server-Sent Events clients.", "gauge", [("", String(sseClients))])
        metric("homelab_sse_max_queued_bytes", "The most bytes ever queued for one Server-Sent Events client.", "gauge", [("", String(sseMaxQueuedBytes))])
        metric("homelab_http_connections", "Open HTTP connections.", "gauge", [("", String(connections))])
        metric("homelab_http_max_queued_bytes", "The most response bytes ever queued for one HTTP connection.", "gauge", [("", String(httpMaxQueuedBytes))])
        metric("homelab_service_up", "Whether each service's heartbeat is fresh (1) or not (0).", "gauge",
               (summary["services"]?.object ?? [:]).map { ("service=\"\($0.key)\"", $0.value["up"]?.bool == true ? "1" : "0") })
        let now = Timestamp.now()
        let nodes = (summary["nodes"]?.object ?? [:]).sorted { $0.key < $1.key }
        metric("homelab_node_last_seen_age_seconds", "Seconds since each node was last heard from.", "gauge", nodes.compactMap { name, node in
            guard let seen = node["lastSeen"]?.string.flatMap(Timestamp.init(rfc3339:)) else { return nil }
            return ("node=\"\(name)\"", String(format2: seen.seconds(until: now)))
        })
        metric("homelab_node_stale", "Whether each node is stale in the drift report (1) or not (0).", "gauge",
               nodes.map { ("node=\"\($0.key)\"", $0.value["stale"]?.bool == true ? "1" : "0") })
        metric("homelab_agent_spooled_events", "Events waiting in each node agent's spool, as it last reported.", "gauge",
               nodes.compactMap { name, node in node["agent"]?["spooled"]?.int.map { ("node=\"\(name)\"", String($0)) } })
        metric("homelab_agent_gaps_total", "Reports each node agent could not spool because its spool was full (a fresh snapshot followed once it had room).", "counter",
               nodes.compactMap { name, node in node["agent"]?["gaps"]?.int.map { ("node=\"\(name)\"", String($0)) } })
        metric("homelab_agent_posted_events_total", "Events each node's agent posted to this UI since it started, by result.", "counter", nodes.flatMap { name, node -> [(labels: String, value: String)] in
            guard let delivery = node["delivery"]?.object else { return [] }
            return ["accepted", "duplicates", "rejected"].map { ("node=\"\(name)\",result=\"\($0)\"", JSONWriter.string(delivery[$0] ?? .int(0))) }
        })
        metric("homelab_heartbeat_age_seconds", "Seconds since each service's last heartbeat.", "gauge", ServiceHeartbeat.reported(root: root).compactMap { name in
            guard let at = ServiceHeartbeat.last(name, root: root) else { return nil }
            return ("service=\"\(name)\"", String(format2: at.seconds(until: now)))
        })
        return Array((lines.joined(separator: "\n") + "\n").utf8)
    }
}
