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
        let original = String(inboxPath.split(separator: "/").last ?? "")
        let name = freeName(original)
        try writeReason(original, as: name, reason: reason, at: time)
        try AtomicFile.rename(inboxPath, to: path + "/" + name)
    }

    /// Keeps `bytes` that never were a file here (an event a server refused) as `name`,
    /// beside its reason, the same way.
    public func record(_ bytes: [UInt8], name original: String, reason: Rejection, at time: Timestamp) throws(SystemError) {
        let name = freeName(original)
        try writeReason(original, as: name, reason: reason, at: time)
        try AtomicFile.write(bytes, to: path + "/" + name, durability: .none)
    }

    /// Keeps `bytes` that were refused as part of a larger file (one line of a posted batch)
    /// under `name`, with its reason: `record` by the observer's name for it.
    public func keep(_ bytes: [UInt8], as name: String, reason: Rejection, at time: Timestamp) throws(SystemError) {
        try record(bytes, name: name, reason: reason, at: time)
    }

    private func freeName(_ original: String) -> String {
        var name = original
        var suffix = 1
        while exists(path + "/" + name) || exists(path + "/" + name + ".reason.json") {
            name = "\(original).\(suffix)"
            suffix += 1
        }
        return name
    }

    private func writeReason(_ original: String, as name: String, reason: Rejection, at time: Timestamp) throws(SystemError) {
        let record: JSONValue = .object([
            "file": .string(original), "reason": .string(reason.reason), "rejectedAt": .string(time.iso8601Milliseconds),
        ])
        try AtomicFile.write(JSONWriter.encode(record) + [0x0A], to: path + "/" + name + ".reason.json", durability: .none)
    }

    private func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }
}
