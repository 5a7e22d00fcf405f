#if canImport(Glibc)
import Glibc
#endif
import FSWatch

/// A folder a service takes dropped events from (SPEC §4.1): the observer's `inbox/`
/// (producers), `audit/` (the services) and `posted/` (batches the UI took over HTTP: one event
/// per line). Open for the service's life: its files are read relative to it without trusting
/// them, and synced once per batch.
///
/// A file whose events are durable in the log is not unlinked in the batch: it is renamed into
/// the hidden processed folder `.done/` (a rename costs ~17 µs on the VPS's ext4, an unlink
/// ~350 µs), and `.done/` is emptied later, off the batch's path (`sweepProcessed`). Whatever
/// is in `.done/` is logged: the rename happens only after the batch's `fdatasync`. Watchers
/// of the folder see the rename as a removal (`IN_MOVED_FROM`), and hidden names are ignored
/// by every reader, so `.done/` is invisible to them.
public final class DropFolder {
    public let path: String
    public let provenance: Provenance
    /// Each file holds JSON Lines, one event each, rather than one event.
    public let holdsBatches: Bool
    private var descriptor: FileDescriptor?

    /// A posted batch is at most 1 MiB as sent; filling in ids (and escapes) can add to it.
    public static let maxBatchFileBytes = 4 << 20

    /// The hidden folder a taken file is renamed into until it is swept.
    public static let processedName = ".done"
    public var processed: String { path + "/" + Self.processedName }

    public init(path: String, provenance: Provenance, holdsBatches: Bool = false) throws(SystemError) {
        self.path = path
        self.provenance = provenance
        self.holdsBatches = holdsBatches
        prefixBytes = Array((path + "/").utf8)
        suffixBytes = Array((holdsBatches ? ".jsonl" : ".json").utf8)
        descriptor = try FileDescriptor.open(path, O_RDONLY | O_DIRECTORY)
        // A folder the service may read but not add to (a root whose owners were set by hand)
        // has no `.done/`: its taken files are unlinked, as before.
        hasProcessedFolder = mkdirat(fd, Self.processedName, 0o755) == 0 || Errno.current == .fileExists
    }

    /// Whether `.done/` could be made: otherwise `retire` unlinks.
    public private(set) var hasProcessedFolder = false

    deinit { close() }

    public func close() {
        if let descriptor = descriptor.take() { descriptor.close() }
    }

    private var fd: Int32 { descriptor?.rawValue ?? -1 }

    /// What a complete file's name ends with: `.json` (one event), `.jsonl` (a batch).
    public var suffix: String { holdsBatches ? ".jsonl" : ".json" }

    /// The name of `path` in this folder, if it is one of its complete files.
    public func name(of path: String) -> String? {
        // On bytes: called for every watch event and every file of a batch.
        var path = path
        return path.withUTF8 { bytes in
            nameRange(in: bytes).map { String(decoding: UnsafeBufferPointer(rebasing: bytes[$0]), as: UTF8.self) }
        }
    }

    /// Whether `path` is one of this folder's complete files: `name(of:)` without making the name.
    public func holds(_ path: String) -> Bool {
        var path = path
        return path.withUTF8 { nameRange(in: $0) != nil }
    }

    /// Where the name is in `path`: after this folder's path and `/`, ending with the suffix,
    /// no further `/`.
    private func nameRange(in path: UnsafeBufferPointer<UInt8>) -> Range<Int>? {
        let start = prefixBytes.count
        guard path.count > start, path.count >= start + suffixBytes.count,
              memcmp(path.baseAddress!, prefixBytes, start) == 0,
              memcmp(path.baseAddress! + path.count - suffixBytes.count, suffixBytes, suffixBytes.count) == 0,
              memchr(path.baseAddress! + start, Int32(UInt8(ascii: "/")), path.count - start) == nil
        else { return nil }
        return start..<path.count
    }

    private let prefixBytes: [UInt8]
    private let suffixBytes: [UInt8]

    public enum Read {
        case bytes([UInt8])
        case rejected(Rejection)
        /// Taken by an earlier batch (watch events can repeat), or deleted.
        case gone
    }

    public func read(_ name: String) -> Read {
        let limit = holdsBatches ? Self.maxBatchFileBytes : EventValidation.maxBytes
        return switch FileContents.readUntrusted(name, in: fd, limit: limit) {
        case .bytes(let bytes): .bytes(bytes)
        case .refused(let reason): .rejected(Rejection(reason))
        case .tooLarge: .rejected(Rejection("over \(limit >> 20) MiB (more than \(limit) bytes)"))
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

    /// The lines of a batch file, each validated (empty lines skipped).
    public func validateLines(_ bytes: [UInt8]) -> [(line: ArraySlice<UInt8>, result: Result<InboxEvent, Rejection>)] {
        bytes.split(separator: 0x0A).map { line in (line, validate(Array(line))) }
    }

    /// Validates what `read` gave, with this folder's provenance.
    public func validate(_ bytes: [UInt8]) -> Result<InboxEvent, Rejection> {
        EventValidation.validate(bytes, from: provenance)
    }

    /// Removes `name`; true if it was there.
    @discardableResult
    public func remove(_ name: String) -> Bool { unlinkat(fd, name, 0) == 0 }

    /// Moves `name`, whose events are durable, into `.done/` (to be swept); true if it was
    /// there. Falls back to unlinking it if the processed folder is gone.
    /// The corresponding C function is `renameat`.
    @discardableResult
    public func retire(_ name: String) -> Bool {
        guard hasProcessedFolder else { return remove(name) }
        if renameat(fd, name, fd, Self.processedName + "/" + name) == 0 { return true }
        guard Errno.current == .noSuchFile, mkdirat(fd, Self.processedName, 0o755) == 0 || Errno.current == .fileExists else {
            return remove(name)
        }
        // `.done/` was removed by hand: made again; the file itself may be what is missing.
        return renameat(fd, name, fd, Self.processedName + "/" + name) == 0
    }

    /// Unlinks the files of `.done/` until `stop` says so; returns how many it removed. Safe
    /// on any thread: it touches nothing but the kernel's view of the folder.
    public static func sweepProcessed(_ processed: String, stop: () -> Bool) -> Int {
        let folder = open(processed, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard folder >= 0 else { return 0 }
        defer { Glibc.close(folder) }
        var removed = 0
        for entry in listDirectory(processed) {
            if stop() { break }
            if unlinkat(folder, entry.name, 0) == 0 { removed += 1 }
        }
        return removed
    }

    /// Makes the folder's removals durable. The corresponding C function is `fsync`.
    public func sync() throws(SystemError) { try systemCall("fsync", path) { fsync(fd) } }

    /// The complete files waiting here, by name.
    public var waiting: [String] {
        listDirectory(path).filter { $0.kind == .regular && $0.name.hasSuffix(suffix) && !$0.name.hasPrefix(".") }.map(\.name)
    }
}
