import FSWatch
import HomelabCore

/// Evaluation: desired against observed for some resources or all, and what follows from it.
extension SupervisorService {
    /// Re-evaluates `subjects` (nil: everything), proposes what is missing, supersedes what is
    /// no longer wanted among their pending actions.
    func evaluate(_ subjects: Set<Subject>?) {
        let now = Timestamp.now()
        if subjects == nil {
            fullEvaluations += 1
            retryDeadlines.removeAll()
        } else {
            resourceEvaluations += 1
        }
        let scope = subjects ?? Set(inventory.resources.keys).union(world.resources.keys).union(drifts.keys)
        for subject in scope {
            var found: [Drift] = []
            let desired = inventory.resources[subject]
            if let desired {
                found = Drift.of(desired, world.resources[subject], now: now)
            } else if world.resources[subject] != nil {
                found = [Drift(subject: subject, kind: .unmanaged, fields: [])]
            }
            drifts[subject] = found.isEmpty ? nil : found
            var answer: [Drift.Kind: String] = [:]
            for drift in found {
                guard let desired, let rule = Proposal.rule(for: drift, in: desired) else { continue }
                if let id = answerFor(Proposal(drift: drift, rule: rule), now: now) { answer[drift.kind] = id }
            }
            answers[subject] = answer.isEmpty ? nil : answer
            reportEntries[subject.description] = reportEntry(subject)
        }
        var unwanted: [(id: String, subject: Subject)] = []
        if subjects == nil {
            for (id, resource) in actions.pendingResources {
                if let subject = try? Subject.parse(resource).get(), answers[subject]?.values.contains(id) != true { unwanted.append((id, subject)) }
            }
        } else {
            for subject in scope {
                for id in actions.pendingByResource[subject.description] ?? [] where answers[subject]?.values.contains(id) != true {
                    unwanted.append((id, subject))
                }
            }
        }
        for (id, subject) in unwanted.sorted(by: { $0.id < $1.id }) {
            supersede(id, reason: drifts[subject] == nil ? "the drift is gone: the world caught up" : "the desired state changed (revision \(revision))")
        }
        scheduleWake(now: now, touched: subjects)
        scheduleReport()
    }

    /// The action that answers a proposal now, proposing a new attempt where one is due.
    func answerFor(_ proposal: Proposal, now: Timestamp) -> String? {
        var attempt = 1
        var latest: (attempt: Int, state: RuntimeRoot.ActionState)?
        while let state = actions.states[proposal.id(attempt: attempt)] {
            latest = (attempt, state)
            attempt += 1
        }
        guard let latest else { return propose(proposal, attempt: 1, now: now) }
        let id = proposal.id(attempt: latest.attempt)
        switch latest.state {
        case .pending, .approved, .running, .rejected:
            return id  // in hand, or refused by the operator: not proposed again
        case .superseded:
            return propose(proposal, attempt: latest.attempt + 1, now: now)
        case .done, .failed:
            let backoff = min(settings.retryBackoffSeconds * Double(1 << min(latest.attempt - 1, 20)), 3600)
            let due = (actions.finishedAt(id) ?? now).adding(seconds: backoff)
            if due <= now { return propose(proposal, attempt: latest.attempt + 1, now: now) }
            retryDeadlines.append(due)
            return id
        }
    }

    /// One timer for the next stale deadline or retry, whichever comes first. A full
    /// evaluation recomputes it; a partial one can only bring it forward (a deadline that moved
    /// later costs one early wake-up, which finds nothing and sets the timer again).
    func scheduleWake(now: Timestamp, touched: Set<Subject>?) {
        var next = touched == nil ? nil : wakeAt.flatMap { $0 > now ? $0 : nil }
        if let retry = retryDeadlines.min() { next = min(next ?? retry, retry) }
        for subject in touched ?? Set(inventory.resources.keys) {
            guard let desired = inventory.resources[subject],
                  let deadline = Drift.staleDeadline(desired, world.resources[subject]), deadline > now else { continue }
            next = min(next ?? deadline, deadline)
        }
        guard next != wakeAt || touched == nil else { return }
        wakeAt = next
        guard let next else {
            wakeTimer?.cancel()
            return
        }
        // A deadline years away (a producer's clock, a `time` in 2400) is a wake-up in a day
        // at most — which finds nothing due and sets the timer again — never a Duration that
        // does not fit in Int64 nanoseconds.
        let delay = min(max(now.seconds(until: next), 0), 86_400)
        wakeTimer?.schedule(after: .nanoseconds(Int64(delay * 1e9) + 1_000_000))
    }
}
