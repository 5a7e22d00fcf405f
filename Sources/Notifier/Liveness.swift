import HomelabCore

/// Services and nodes that should be heard from: each has a last sign of life and a limit; one
/// past its limit is down (a service: no heartbeat in `state/SERVICE.json`; a node: no
/// heartbeat or report in the log), and back at its next sign of life. The notifier keeps one
/// timer on the earliest deadline: nothing is polled.
struct Liveness {
    struct Watched {
        var lastSeen: Timestamp
        var limit: Double
        var deadline: Timestamp { lastSeen.adding(seconds: limit) }
    }

    /// By `service/NAME` or `node/NAME`.
    private(set) var watched: [String: Watched] = [:]
    /// Reported down and not back yet (persisted in `NotifierState.down`).
    var down: Set<String>

    init(down: Set<String>) { self.down = down }

    /// A sign of life; true when `name` was down (it is back now).
    mutating func seen(_ name: String, at time: Timestamp, limit: Double, now: Timestamp) -> Bool {
        if let known = watched[name], known.lastSeen >= time {
            watched[name]!.limit = limit
            return false
        }
        watched[name] = Watched(lastSeen: time, limit: limit)
        guard time.adding(seconds: limit) > now, down.contains(name) else { return false }
        down.remove(name)
        return true
    }

    mutating func forget(_ name: String) { watched[name] = nil }

    /// Everything past its deadline that was not down yet: now it is.
    mutating func takeOverdue(now: Timestamp) -> [(name: String, lastSeen: Timestamp)] {
        var overdue: [(String, Timestamp)] = []
        for (name, entry) in watched where entry.deadline <= now && !down.contains(name) {
            down.insert(name)
            overdue.append((name, entry.lastSeen))
        }
        return overdue.sorted { $0.0 < $1.0 }
    }

    /// The earliest deadline of what is not down yet.
    var nextDeadline: Timestamp? {
        watched.filter { !down.contains($0.key) }.map(\.value.deadline).min()
    }
}
