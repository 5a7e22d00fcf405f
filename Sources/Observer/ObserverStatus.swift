import HomelabCore

/// What the observer says of itself in `state/observer.json`, beside the skeleton's fields.
struct ObserverStatus {
    var seq = 0
    var resources = 0
    var counters = ObserverCounters()
    var lastBatch: (at: Timestamp, accepted: Int, rejected: Int, duration: Duration)?
    /// The seq of the newest snapshot written.
    var snapshotSeq: Int?
    /// The disk guard's state: `{"paused": false, …}` normally.
    var ingest: JSONObject = ["paused": .bool(false)]

    mutating func record(accepted: Int, rejected: Int, at time: Timestamp, duration: Duration) {
        counters.accepted += accepted
        counters.rejected += rejected
        counters.batches += 1
        lastBatch = (time, accepted, rejected, duration)
    }

    var details: JSONObject {
        var object: JSONObject = ["seq": .int(seq), "resources": .int(resources), "counters": .object(counters.json), "ingest": .object(ingest)]
        if let snapshotSeq { object["snapshotSeq"] = .int(snapshotSeq) }
        if let lastBatch {
            object["lastBatch"] = .object([
                "at": .string(lastBatch.at.iso8601Milliseconds), "accepted": .int(lastBatch.accepted),
                "rejected": .int(lastBatch.rejected), "durationMs": .number(String(format2: lastBatch.duration.milliseconds)),
            ])
        }
        return object
    }
}
