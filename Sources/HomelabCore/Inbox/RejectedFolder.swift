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
        try AtomicFile.rename(inboxPath, to: path + "/" + name)
    }

    private func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }
}
