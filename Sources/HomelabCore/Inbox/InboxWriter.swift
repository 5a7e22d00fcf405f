import FSWatch

/// How every service (and `homelab emit`) drops an event into the inbox (SPEC §4.1): one
/// CloudEvents object per file, written under a hidden name and renamed into place.
public struct InboxWriter: Sendable {
    public let inbox: String
    public let source: String
    public let durability: AtomicFile.Durability

    /// `durability` `.file` survives a power cut once written; a service whose events are
    /// re-derived after a restart (the supervisor's) can take `.none`.
    public init(inbox: String, source: String, durability: AtomicFile.Durability = .file) {
        self.inbox = inbox
        self.source = source
        self.durability = durability
    }

    /// Builds the event (fresh id, time now) and drops it; returns the file's path.
    @discardableResult
    public func emit(type: String, subject: String?, data: JSONValue?, id: String = Digest.randomHex(),
                     time: String? = nil) throws(SystemError) -> String {
        try drop(event(type: type, subject: subject, data: data, id: id, time: time))
    }

    /// The bytes of an event from this writer's source.
    public func event(type: String, subject: String?, data: JSONValue?, id: String = Digest.randomHex(), time: String? = nil) -> [UInt8] {
        var event: JSONObject = ["specversion": .string("1.0"), "id": .string(id), "source": .string(source), "type": .string(type)]
        if let subject { event["subject"] = .string(subject) }
        event["time"] = .string(time ?? Timestamp.now().iso8601Milliseconds)
        if let data { event["data"] = data }
        return JSONWriter.encode(.object(event)) + [0x0A]
    }

    /// Drops already-encoded event bytes; names sort by time.
    @discardableResult
    public func drop(_ bytes: [UInt8], at time: Timestamp = .now()) throws(SystemError) -> String {
        let nanos = String(time.nanoseconds)
        let path = "\(inbox)/\(time.secondsSinceEpoch)\(String(repeating: "0", count: 9 - nanos.count))\(nanos)-\(Digest.randomHex(bytes: 4)).json"
        try AtomicFile.write(bytes, to: path, durability: durability)
        return path
    }
}
