import HomelabCore

/// The observer's heartbeat and counters, written to `state/observer.json`.
struct ObserverStatus {
    let startedAt: Timestamp
    var seq = 0
    var resources = 0
    var accepted = 0
    var rejected = 0
    var duplicates = 0
    var ignoredTypes = 0
    var batches = 0
    var overflows = 0
    var rescans = 0
    var queued = 0
    var lastBatch: (at: Timestamp, accepted: Int, rejected: Int, duration: Duration)?

    init(startedAt: Timestamp) { self.startedAt = startedAt }

    mutating func record(accepted: Int, rejected: Int, at time: Timestamp, duration: Duration) {
        self.accepted += accepted
        self.rejected += rejected
        batches += 1
        lastBatch = (time, accepted, rejected, duration)
    }

    func json(now: Timestamp = .now()) -> [UInt8] {
        var object: JSONObject = [
            "service": .string(ObserverService.service), "pid": .int(Int(ProcessID.current)),
            "startedAt": .string(startedAt.iso8601), "heartbeatAt": .string(now.iso8601Milliseconds),
            "seq": .int(seq), "resources": .int(resources),
            "counters": .object([
                "accepted": .int(accepted), "rejected": .int(rejected), "duplicatesDropped": .int(duplicates),
                "ignoredTypes": .int(ignoredTypes), "batches": .int(batches), "inotifyOverflows": .int(overflows),
                "rescans": .int(rescans), "queued": .int(queued),
            ]),
        ]
        if let lastBatch {
            object["lastBatch"] = .object([
                "at": .string(lastBatch.at.iso8601Milliseconds), "accepted": .int(lastBatch.accepted),
                "rejected": .int(lastBatch.rejected), "durationMs": .number(String(format2: lastBatch.duration.milliseconds)),
            ])
        }
        return JSONWriter.encode(.object(object)) + [0x0A]
    }
}
