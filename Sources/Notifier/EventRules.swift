import HomelabCore

/// Which events of the log deserve a message, and what it says. Pure but for one read: a
/// failed action's file, for its name, resource and error.
struct EventRules {
    let root: RuntimeRoot
    /// `HOMELAB_PUBLIC_URL`: the dashboard as the operator reaches it (clicks lead there).
    let publicURL: String?

    func occurrence(for event: LoggedEvent) -> Occurrence? {
        let data = event.data?.object ?? [:]
        let subject = event.subject ?? ""
        let id = subject.hasPrefix("action/") ? String(subject.dropFirst("action/".count)) : ""
        func make(_ rule: Occurrence.Rule, _ about: String, _ title: String, _ body: String, click: String? = nil) -> Occurrence {
            Occurrence(rule: rule, subject: about, trigger: "seq:\(event.seq)", seq: event.seq, title: title, body: body, click: click)
        }
        switch event.type {
        case "action.proposed":
            // An auto-approved proposal needs nobody: the executor runs it at once.
            guard data["approvedBy"] == nil else { return nil }
            let resource = data["resource"]?.string ?? subject
            let action = data["action"]?.string ?? "an action"
            let command = (data["preview"]?.array ?? []).compactMap(\.string).joined(separator: " ")
            var body = "\(resource): \(data["drift"]?.string ?? "drift")"
            if !command.isEmpty { body += "\n$ " + command }
            if let actor = data["actor"]?.string, actor != "supervisor" { body += "\nasked for by \(actor)" }
            let link = actionLink(id)
            if let link { body += "\n" + link }
            return make(.proposal, resource, "Proposal waiting: \(action) for \(resource)", body, click: link)
        case "action.failed":
            let file = ActionFile.read(root.action(id, in: .failed))
            let resource = file?.resource ?? id
            let reason = file?.result?.error ?? file?.result.flatMap { $0.exitCode.map { "exit code \($0)" } } ?? "failed"
            return make(.actionFailed, resource, "Action failed: \(file?.action ?? id) for \(resource)", "\(id): \(reason)", click: actionLink(id))
        case "action.unverified":
            let resource = data["resource"]?.string ?? id
            let within = data["withinSeconds"]?.int.map { " \($0) s after" } ?? " after"
            return make(.actionUnverified, resource, "Action unverified: \(resource) still drifts",
                        "\(id) succeeded, but the \(data["drift"]?.string ?? "") drift of \(resource) is still there\(within) it ran", click: actionLink(id))
        case "drift.flapping":
            let count = data["count"]?.int ?? 0
            let within = data["withinSeconds"]?.int ?? 0
            return make(.flapping, subject, "Flapping: \(subject)",
                        "\(subject) left its desired state \(count) times within \(within) s: no new proposal until it settles (homelab propose \(subject) asks for one now)",
                        click: publicURL.map { $0 + "#/drift" })
        case "ingest.paused":
            return make(.ingestPaused, "observer", "Event ingest paused on the VPS",
                        data["reason"]?.string ?? "the observer stopped taking events (disk guard)")
        case "ingest.resumed":
            return make(.ingestResumed, "observer", "Event ingest resumed", data["reason"]?.string ?? "the observer takes events again")
        default:
            return nil
        }
    }

    func actionLink(_ id: String) -> String? {
        guard !id.isEmpty, let publicURL else { return nil }
        return publicURL + "#/actions/" + id
    }
}
