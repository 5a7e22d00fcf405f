import FSWatch
import HomelabCore

extension Command {
    static let status = Command(
        name: "status",
        summary: "the summary, readable in a terminal",
        help: """
        usage: homelab status [--json]

        What /summary says, read straight from $HOMELAB_ROOT (no UI needed): the world, the
        drift, the action queue, each service's heartbeat and the last event — then every
        pending action with the command it would run, ready for `homelab approve ID`, and every
        drift that waits (back-off, flapping, rejected) with when its next attempt is due.
        --json prints /summary's JSON instead.
        """,
        run: { arguments in
            guard let options = Options.parse(arguments, command: "status", flags: ["--json"]) else { return 2 }
            guard let configuration = Configuration.forCommand("status") else { return 2 }
            let root = configuration.root
            guard fileKind(root.state) == .directory else {
                CommandLine.warn("status: \(root.path) is not a runtime root (no state/ folder)")
                return 1
            }
            let bytes = Summary.build(root: root, heartbeatSeconds: configuration.heartbeatSeconds)
            if options.values["--json"] != nil {
                print(String(decoding: bytes, as: UTF8.self))
                return 0
            }
            print(StatusText.render(summary: (try? JSONParser.parse(bytes))?.object ?? [:], pending: StatusText.pending(root),
                                    waiting: StatusText.waiting(root)), terminator: "")
            return 0
        }
    )
}

/// The summary as aligned lines for a terminal.
enum StatusText {
    static func render(summary: JSONObject, pending: [ActionFile], waiting: [DriftReport.Entry] = []) -> String {
        func counts(_ object: JSONObject?, order: [String]) -> String {
            let object = object ?? [:]
            let keys = order + object.keys.filter { !order.contains($0) }.sorted()
            return keys.compactMap { key in object[key].map { "\(key) \(JSONWriter.string($0))" } }.joined(separator: ", ")
        }
        let world = summary["world"]?.object ?? [:]
        let drift = summary["drift"]?.object ?? [:]
        var lines: [String] = []
        lines.append("world     seq \(JSONWriter.string(world["seq"] ?? .int(0))), \(JSONWriter.string(world["resources"] ?? .int(0))) resources"
            + ((world["byKind"]?.object ?? [:]).isEmpty ? "" : " (\(counts(world["byKind"]?.object, order: [])))"))
        lines.append("drift     \(JSONWriter.string(drift["total"] ?? .int(0))) (\(counts(drift["byKind"]?.object, order: ["missing", "mismatch", "stale", "unmanaged"])))")
        lines.append("actions   " + counts(summary["actions"]?.object, order: RuntimeRoot.ActionState.allCases.map(\.rawValue)))
        let services = (summary["services"]?.object ?? [:]).map { name, service -> String in
            "\(name) " + (service["up"]?.bool == true ? "up" : "DOWN")
        }
        lines.append("services  " + services.joined(separator: ", "))
        let now = Timestamp.now()
        for (index, (name, node)) in (summary["nodes"]?.object ?? [:]).sorted(by: { $0.key < $1.key }).enumerated() {
            var parts = [name]
            if let seen = node["lastSeen"]?.string.flatMap(Timestamp.init(rfc3339:)) { parts.append("seen \(Self.age(seen.seconds(until: now))) ago") }
            if node["stale"]?.bool == true { parts.append("STALE") }
            if let spooled = node["agent"]?["spooled"]?.int, spooled > 0 { parts.append("\(spooled) spooled") }
            if let gaps = node["agent"]?["gaps"]?.int, gaps > 0 { parts.append("\(gaps) gaps") }
            if let os = node["facts"]?["os"]?.string { parts.append(os) }
            lines.append((index == 0 ? "nodes     " : "          ") + parts.joined(separator: ", "))
        }
        if let last = summary["lastEvent"]?.object {
            lines.append("last      event \(JSONWriter.string(last["seq"] ?? .null)) \(last["type"]?.string ?? "?") at \(last["receivedAt"]?.string ?? "?")")
        } else {
            lines.append("last      no events yet")
        }
        if !pending.isEmpty {
            lines.append("")
            lines.append("pending (homelab approve ID / homelab reject ID):")
            for action in pending {
                lines.append("  \(action.id)  \(action.resource ?? "?")  \(action.action ?? "?"): \(action.preview.joined(separator: " "))")
            }
        }
        if !waiting.isEmpty {
            lines.append("")
            lines.append("waiting (homelab propose RESOURCE asks for a proposal now):")
            for entry in waiting {
                var text = "  \(entry.drift.subject)  \(entry.drift.kind.rawValue)"
                if entry.flapping { text += "  FLAPPING" }
                if let wait = entry.wait {
                    text += "  \(wait.reason.rawValue): \(wait.detail)"
                    if let next = wait.nextAttemptAt { text += ", next attempt in \(Self.age(now.seconds(until: next)))" }
                }
                lines.append(text)
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The drift entries that wait for something (`drift.json`'s `wait`, or flapping).
    static func waiting(_ root: RuntimeRoot) -> [DriftReport.Entry] {
        (DriftReport.read(root.driftReport)?.entries ?? []).filter { $0.wait != nil || $0.flapping }
    }

    static func age(_ seconds: Double) -> String {
        switch seconds {
        case ..<120: "\(Int(max(0, seconds))) s"
        case ..<7200: "\(Int(seconds / 60)) min"
        default: "\(Int(seconds / 3600)) h"
        }
    }

    /// The pending actions, oldest proposal first.
    static func pending(_ root: RuntimeRoot) -> [ActionFile] {
        root.actionIDs(in: .pending)
            .compactMap { ActionFile.read(root.action($0, in: .pending)) }
            .sorted { ($0.proposedAt ?? "") < ($1.proposedAt ?? "") }
    }
}
