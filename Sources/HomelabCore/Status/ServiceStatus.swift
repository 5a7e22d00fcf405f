import FSWatch

/// `state/SERVICE.json`: a service's heartbeat and what it says of itself, rewritten every
/// heartbeat period by the service skeleton and once more, with `stoppedAt`, when it stops.
/// `/summary`, `/metrics`, `homelab status` and `homelab health` read it.
public struct ServiceStatus: Sendable {
    public var service: String
    public var pid: Int
    public var startedAt: String
    public var heartbeatAt: String
    public var stoppedAt: String?
    /// The service's own fields (its queue, its port, its `counters`), in order.
    public var details: JSONObject

    public init(service: String, pid: Int, startedAt: String, heartbeatAt: String, stoppedAt: String? = nil, details: JSONObject = [:]) {
        self.service = service
        self.pid = pid
        self.startedAt = startedAt
        self.heartbeatAt = heartbeatAt
        self.stoppedAt = stoppedAt
        self.details = details
    }

    public var bytes: [UInt8] {
        var object: JSONObject = [
            "service": .string(service), "pid": .int(pid), "startedAt": .string(startedAt), "heartbeatAt": .string(heartbeatAt),
        ]
        if let stoppedAt { object["stoppedAt"] = .string(stoppedAt) }
        object.members.append(contentsOf: details.members.filter { !Self.ownKeys.contains($0.key) })
        return JSONWriter.encode(.object(object)) + [0x0A]
    }

    private static let ownKeys: Set<String> = ["service", "pid", "startedAt", "heartbeatAt", "stoppedAt"]

    /// Reads a status; only `heartbeatAt` is required (the file is named for its service).
    public init?(json object: JSONObject, service: String) {
        guard let heartbeatAt = object["heartbeatAt"]?.string else { return nil }
        self.init(service: object["service"]?.string ?? service, pid: object["pid"]?.int ?? 0,
                  startedAt: object["startedAt"]?.string ?? heartbeatAt, heartbeatAt: heartbeatAt,
                  stoppedAt: object["stoppedAt"]?.string,
                  details: JSONObject(object.members.filter { !Self.ownKeys.contains($0.key) }))
    }

    public static func read(_ service: String, root: RuntimeRoot) -> ServiceStatus? {
        FileContents.object(root.serviceState(service)).flatMap { ServiceStatus(json: $0, service: service) }
    }

    /// Rewritten in place (no inode churn: it changes every few seconds).
    public func write(root: RuntimeRoot) throws(SystemError) {
        try AtomicFile.rewrite(bytes, to: root.serviceState(service))
    }

    /// The service's `counters` object.
    public var counters: JSONObject { details["counters"]?.object ?? [:] }
}

/// The observer's counters in its status (what `/metrics` exports).
public struct ObserverCounters: Equatable, Sendable {
    public var accepted = 0
    public var rejected = 0
    public var duplicates = 0
    public var ignoredTypes = 0
    public var batches = 0
    public var inotifyOverflows = 0
    public var rescans = 0
    public var queued = 0
    /// World files that could not be written (each retried until it is).
    public var worldWriteFailures = 0
    /// Heartbeats folded into a node's `lastSeen` without being logged (one a minute is).
    public var heartbeatsThinned = 0
    /// Log segments removed by retention.
    public var segmentsRemoved = 0

    public init() {}

    public init(_ object: JSONObject) {
        accepted = object["accepted"]?.int ?? 0
        rejected = object["rejected"]?.int ?? 0
        duplicates = object["duplicates"]?.int ?? 0
        ignoredTypes = object["ignoredTypes"]?.int ?? 0
        batches = object["batches"]?.int ?? 0
        inotifyOverflows = object["inotifyOverflows"]?.int ?? 0
        rescans = object["rescans"]?.int ?? 0
        queued = object["queued"]?.int ?? 0
        worldWriteFailures = object["worldWriteFailures"]?.int ?? 0
        heartbeatsThinned = object["heartbeatsThinned"]?.int ?? 0
        segmentsRemoved = object["segmentsRemoved"]?.int ?? 0
    }

    public var json: JSONObject {
        ["accepted": .int(accepted), "rejected": .int(rejected), "duplicates": .int(duplicates),
         "ignoredTypes": .int(ignoredTypes), "batches": .int(batches), "inotifyOverflows": .int(inotifyOverflows),
         "rescans": .int(rescans), "queued": .int(queued), "worldWriteFailures": .int(worldWriteFailures),
         "heartbeatsThinned": .int(heartbeatsThinned), "segmentsRemoved": .int(segmentsRemoved)]
    }
}

/// The executor's counters in its status (what `/metrics` exports).
public struct ExecutorCounters: Equatable, Sendable {
    public var succeeded = 0
    public var failed = 0
    public var durationSecondsSum = 0.0
    public var durationCount = 0

    public init() {}

    public init(_ object: JSONObject) {
        succeeded = object["succeeded"]?.int ?? 0
        failed = object["failed"]?.int ?? 0
        durationSecondsSum = object["durationSecondsSum"]?.double ?? 0
        durationCount = object["durationCount"]?.int ?? 0
    }

    public var json: JSONObject {
        ["succeeded": .int(succeeded), "failed": .int(failed),
         "durationSecondsSum": .number(String(format2: durationSecondsSum)), "durationCount": .int(durationCount)]
    }
}
