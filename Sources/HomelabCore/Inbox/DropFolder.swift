#if canImport(Glibc)
import Glibc
#endif
import FSWatch

/// A folder a service takes dropped events from (SPEC §4.1): the agent's own inbox, with the
/// observer's care — open for the service's life, files read relative to it without trusting
/// them, unlinked relative to it, and synced once per batch. (The observer's `IngestFolder` is
/// the same thing for `inbox/` and `audit/`.)
public final class DropFolder {
    public let path: String
    public let provenance: Provenance
    private var descriptor: FileDescriptor?

    public init(path: String, provenance: Provenance) throws(SystemError) {
        self.path = path
        self.provenance = provenance
        descriptor = try FileDescriptor.open(path, O_RDONLY | O_DIRECTORY)
    }

    deinit { close() }

    public func close() {
        if let descriptor = descriptor.take() { descriptor.close() }
    }

    private var fd: Int32 { descriptor?.rawValue ?? -1 }

    /// The name of `path` in this folder, if it is one of its files.
    public func name(of path: String) -> String? {
        guard path.hasPrefix(self.path + "/") else { return nil }
        let name = path.dropFirst(self.path.count + 1)
        return name.contains("/") ? nil : String(name)
    }

    public enum Read {
        case bytes([UInt8])
        case rejected(Rejection)
        /// Taken by an earlier batch (watch events can repeat), or deleted.
        case gone
    }

    public func read(_ name: String) -> Read {
        switch FileContents.readUntrusted(name, in: fd, limit: EventValidation.maxBytes) {
        case .bytes(let bytes): .bytes(bytes)
        case .refused(let reason): .rejected(Rejection(reason))
        case .tooLarge: .rejected(Rejection("over 1 MiB (more than \(EventValidation.maxBytes) bytes)"))
        case .gone: .gone
        }
    }

    /// Whether `name` was modified within `window` of now: a file still being written under
    /// its final name looks like this (a producer that skips the rename, caught by a scan).
    /// A modification time further in the future is not fresh, so a wrong clock cannot keep
    /// a bad file out of `rejected/` for ever.
    public func isFresh(_ name: String, window: Duration) -> Bool {
        var info = stat()
        guard fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return false }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let age = Duration.seconds(now.tv_sec - info.st_mtim.tv_sec) + .nanoseconds(now.tv_nsec - info.st_mtim.tv_nsec)
        return age < window && age > .zero - window
    }

    /// Validates what `read` gave, with this folder's provenance.
    public func validate(_ bytes: [UInt8]) -> Result<InboxEvent, Rejection> {
        EventValidation.validate(bytes, from: provenance)
    }

    /// Removes `name`; true if it was there.
    @discardableResult
    public func remove(_ name: String) -> Bool { unlinkat(fd, name, 0) == 0 }

    /// Makes the folder's removals durable. The corresponding C function is `fsync`.
    public func sync() throws(SystemError) { try systemCall("fsync", path) { fsync(fd) } }

    /// The complete `*.json` files waiting here, by name.
    public var waiting: [String] {
        listDirectory(path).filter { $0.kind == .regular && $0.name.hasSuffix(".json") && !$0.name.hasPrefix(".") }.map(\.name)
    }
}
