import FSWatch

/// `state/observer_checkpoint.json`: the last seq folded into `world/`, and the boot it was
/// written in. A checkpoint from another boot is not trusted (world files are not fsynced),
/// nor is a missing one: either way the observer rebuilds the world from the log.
public struct Checkpoint: Equatable, Sendable {
    public var seq: Int
    public var bootID: String

    public init(seq: Int, bootID: String) {
        self.seq = seq
        self.bootID = bootID
    }

    public static func read(_ path: String) -> Checkpoint? {
        guard let object = FileContents.object(path), let seq = object["seq"]?.int, let boot = object["bootId"]?.string
        else { return nil }
        return Checkpoint(seq: seq, bootID: boot)
    }

    public func write(_ path: String, at time: Timestamp) throws(SystemError) {
        let record: JSONValue = .object(["seq": .int(seq), "bootId": .string(bootID), "writtenAt": .string(time.iso8601Milliseconds)])
        try AtomicFile.rewrite(JSONWriter.encode(record) + [0x0A], to: path)
    }
}
