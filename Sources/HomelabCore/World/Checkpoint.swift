import FSWatch

/// `state/observer_checkpoint.json`: the last seq folded into `world/`, and the boot it was
/// written in. A checkpoint from another boot is not trusted (world files are not fsynced),
/// nor is a missing one: either way the observer rebuilds the world from the newest snapshot
/// and the log after it.
///
/// `loggedLastSeen`: for each node whose `lastSeen` in `world/` came from a heartbeat thinned
/// out of the log (docs/observer.md), the `lastSeen` the log itself says — so that the fold
/// of the log (what a snapshot holds) can be told apart from the newer value in the file.
public struct Checkpoint: Equatable, Sendable {
    public var seq: Int
    public var bootID: String
    public var loggedLastSeen: [String: String]

    public init(seq: Int, bootID: String, loggedLastSeen: [String: String] = [:]) {
        self.seq = seq
        self.bootID = bootID
        self.loggedLastSeen = loggedLastSeen
    }

    public static func read(_ path: String) -> Checkpoint? {
        guard let object = FileContents.object(path), let seq = object["seq"]?.int, let boot = object["bootId"]?.string
        else { return nil }
        var logged: [String: String] = [:]
        for (subject, value) in object["loggedLastSeen"]?.object ?? [:] { if let time = value.string { logged[subject] = time } }
        return Checkpoint(seq: seq, bootID: boot, loggedLastSeen: logged)
    }

    public func write(_ path: String, at time: Timestamp) throws(SystemError) {
        var record: JSONObject = ["seq": .int(seq), "bootId": .string(bootID), "writtenAt": .string(time.iso8601Milliseconds)]
        if !loggedLastSeen.isEmpty {
            record["loggedLastSeen"] = .object(JSONObject(loggedLastSeen.sorted { $0.key < $1.key }.map { (key: $0.key, value: .string($0.value)) }))
        }
        try AtomicFile.rewrite(JSONWriter.encode(.object(record)) + [0x0A], to: path)
    }
}
