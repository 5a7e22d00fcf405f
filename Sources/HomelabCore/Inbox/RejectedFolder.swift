#if canImport(Glibc)
import Glibc
#endif
import FSWatch

/// `rejected/`: a refused file is moved here whole (nothing is lost) beside
/// `NAME.reason.json`, which says what was wrong and when.
public struct RejectedFolder {
    public let path: String

    public init(path: String) { self.path = path }

    /// Writes the reason, then renames the file in. A name already taken by an earlier
    /// rejection gets a numeric suffix rather than overwriting it.
    public func reject(_ inboxPath: String, reason: Rejection, at time: Timestamp) throws(SystemError) {
        let name = try recordReason(for: String(inboxPath.split(separator: "/").last ?? ""), reason, at: time)
        try AtomicFile.rename(inboxPath, to: path + "/" + name)
    }

    /// Keeps `bytes` that were refused as part of a larger file (one line of a posted batch)
    /// under `name`, with its reason.
    public func keep(_ bytes: [UInt8], as name: String, reason: Rejection, at time: Timestamp) throws(SystemError) {
        let name = try recordReason(for: name, reason, at: time)
        try AtomicFile.write(bytes, to: path + "/" + name, durability: .none)
    }

    /// Writes `NAME.reason.json` under a free name for `original`; returns the name.
    private func recordReason(for original: String, _ reason: Rejection, at time: Timestamp) throws(SystemError) -> String {
        var name = original
        var suffix = 1
        while exists(path + "/" + name) || exists(path + "/" + name + ".reason.json") {
            name = "\(original).\(suffix)"
            suffix += 1
        }
        let record: JSONValue = .object([
            "file": .string(original), "reason": .string(reason.reason), "rejectedAt": .string(time.iso8601Milliseconds),
        ])
        try AtomicFile.write(JSONWriter.encode(record) + [0x0A], to: path + "/" + name + ".reason.json", durability: .none)
        return name
    }

    private func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }
}
