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
            let flappingUntil = noteFlapping(subject, desired, found, now: now)
            var answer: [Drift.Kind: String] = [:]
            var wait: [Drift.Kind: DriftReport.Wait] = [:]
            for drift in found {
                guard let desired, let rule = Proposal.rule(for: drift, in: desired) else { continue }
                let (id, why) = answerFor(Proposal(drift: drift, rule: rule), now: now, flappingUntil: flappingUntil, rule: desired.flapping)
                if let id { answer[drift.kind] = id }
                if let why { wait[drift.kind] = why }
            }
            answers[subject] = answer.isEmpty ? nil : answer
            waits[subject] = wait.isEmpty ? nil : wait
            reportEntries[subject.description] = reportEntry(subject)
        }
        checkVerifications(of: subjects, now: now)
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

    /// The action that answers a proposal now, proposing a new attempt where one is due, and
    /// why no new one is proposed where none is. An operator's request for the resource
    /// (`requests`) sets back-off, flapping and a rejection aside.
    func answerFor(_ proposal: Proposal, now: Timestamp, flappingUntil: Timestamp?, rule: DesiredResource.Flapping) -> (id: String?, wait: DriftReport.Wait?) {
        var attempt = 1
        var latest: (attempt: Int, state: RuntimeRoot.ActionState)?
        while let state = actions.states[proposal.id(attempt: attempt)] {
            latest = (attempt, state)
            attempt += 1
        }
        let subject = proposal.drift.subject
        let flapWait = flappingUntil.map {
            DriftReport.Wait(reason: .flapping, detail: "left the desired state \(flaps.count(subject)) times within \(rule.withinSeconds) s", nextAttemptAt: $0)
        }
        if let latest, [.pending, .approved, .running].contains(latest.state) {
            let id = proposal.id(attempt: latest.attempt)
            if let request = requests.removeValue(forKey: subject) {
                logger.info("\(request.operatorName) asked for a proposal for \(subject): \(id) is \(latest.state.rawValue) already")
            }
            return (id, nil)  // in hand
        }
        if let request = requests.removeValue(forKey: subject) {
            return (propose(proposal, attempt: (latest?.attempt ?? 0) + 1, now: now, by: request), nil)
        }
        guard let latest else {
            if let flapWait { return (nil, flapWait) }
            return (propose(proposal, attempt: 1, now: now), nil)
        }
        let id = proposal.id(attempt: latest.attempt)
        switch latest.state {
        case .pending, .approved, .running:
            return (id, nil)
        case .rejected:
            // Refused by the operator: not proposed again unless one asks.
            return (id, DriftReport.Wait(reason: .rejected, detail: "attempt \(latest.attempt) was rejected by the operator"))
        case .superseded:
            if let flapWait { return (id, flapWait) }
            return (propose(proposal, attempt: latest.attempt + 1, now: now), nil)
        case .done, .failed:
            let backoff = min(settings.retryBackoffSeconds * Double(1 << min(latest.attempt - 1, 20)), 3600)
            let due = (actions.finishedAt(id) ?? now).adding(seconds: backoff)
            if let flapWait, let until = flapWait.nextAttemptAt {
                retryDeadlines.append(max(due, until))
                return (id, DriftReport.Wait(reason: .flapping, detail: flapWait.detail, nextAttemptAt: max(due, until)))
            }
            if due <= now { return (propose(proposal, attempt: latest.attempt + 1, now: now), nil) }
            retryDeadlines.append(due)
            return (id, DriftReport.Wait(reason: .backoff, detail: "back-off after attempt \(latest.attempt)", nextAttemptAt: due))
        }
    }

    /// Counts a leave of the desired state and returns until when the resource flaps (nil:
    /// it does not); announces the start and end of flapping with `drift.flapping` and
    /// `drift.steady` events (the notifier's one message).
    func noteFlapping(_ subject: Subject, _ desired: DesiredResource?, _ found: [Drift], now: Timestamp) -> Timestamp? {
        guard let desired else {
            flaps.forget(subject)
            flapping[subject] = nil
            return nil
        }
        flaps.note(subject, drifting: found.contains { $0.kind == .mismatch || $0.kind == .missing }, now: now, rule: desired.flapping)
        let until = flaps.flappingUntil(subject, now: now, rule: desired.flapping)
        let was = flapping[subject] != nil
        flapping[subject] = until
        if until != nil && !was {
            announce("drift.flapping", subject: subject.description, data: .object([
                "count": .int(flaps.count(subject)), "withinSeconds": .int(desired.flapping.withinSeconds),
                "until": .string(until!.iso8601),
            ]))
            logger.warning("\(subject) is flapping: it left its desired state \(flaps.count(subject)) times within \(desired.flapping.withinSeconds) s; no new proposal until \(until!.iso8601) unless an operator asks")
        } else if until == nil && was {
            announce("drift.steady", subject: subject.description, data: nil)
            logger.info("\(subject) is no longer flapping")
        }
        return until
    }

    /// A supervisor event that is not an action's (flapping): into `audit/` with the rest.
    func announce(_ type: String, subject: String, data: JSONValue?) {
        do {
            try events.inbox.emit(type: type, subject: subject, data: data)
        } catch {
            logger.warning("could not emit \(type) for \(subject): \(error)")
        }
    }

    /// One timer for the next stale deadline or retry, whichever comes first. A full
    /// evaluation recomputes it; a partial one can only bring it forward (a deadline that moved
    /// later costs one early wake-up, which finds nothing and sets the timer again).
    func scheduleWake(now: Timestamp, touched: Set<Subject>?) {
        var next = touched == nil ? nil : wakeAt.flatMap { $0 > now ? $0 : nil }
        if let retry = retryDeadlines.min() { next = min(next ?? retry, retry) }
        if let verification = nextVerificationDeadline { next = min(next ?? verification, verification) }
        if let settles = flapping.values.min() { next = min(next ?? settles, settles) }
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
