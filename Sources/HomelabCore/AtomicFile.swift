#if canImport(Glibc)
import Glibc
#endif
import FSWatch

/// The one way any service writes a file under the runtime root: the bytes go to a hidden
/// temporary in the same folder and are renamed over the final name, so no reader (and no
/// `kill -9`) ever sees half a file. How much survives a power cut is the caller's choice.
public enum AtomicFile {
    public enum Durability: Sendable {
        /// Atomic for readers and across a crashed process, not across a power cut: for state
        /// that can be rebuilt (the world, from the log) or rewritten (heartbeats).
        case none
        /// The bytes are fsynced before the rename.
        case file
        /// The bytes, then the folder: the rename itself survives a power cut.
        case fileAndFolder
    }

    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644, durability: Durability = .fileAndFolder) throws(SystemError) {
        let (folder, name) = split(path)
        let temporary = "\(folder)/.\(name).\(processID).tmp"
        let file = try FileDescriptor.open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
        do {
            try file.closeAfter { file throws(SystemError) in
                try file.writeAll(bytes)
                if durability != .none { try file.sync() }
            }
            try rename(temporary, to: path)
        } catch {
            unlink(temporary)
            throw error
        }
        if durability == .fileAndFolder { try syncFolder(folder) }
    }

    public static func write(_ text: String, to path: String, mode: mode_t = 0o644, durability: Durability = .fileAndFolder) throws(SystemError) {
        try write(Array(text.utf8), to: path, mode: mode, durability: durability)
    }

    /// Rewrites a file that changes often (a world resource, an index, a checkpoint) without
    /// allocating an inode: the bytes go into a hidden spare beside it (`.NAME.spare`, kept
    /// between rewrites), which is then swapped with the file in one `renameat2` with
    /// `RENAME_EXCHANGE`. Readers see the old bytes or the new, never a mix — as with
    /// `write` — but the swapped-out inode becomes the next spare instead of being freed; on
    /// this VM's ext4, creating an inode right after freeing one is the slowest thing a
    /// write can do (about 0.5 ms). Not fsynced: for state that is rebuilt after a reboot.
    /// Watchers see the swap as the file arriving and then leaving; `DirectoryWatch` checks
    /// that a name reported as gone is really gone.
    public static func rewrite(_ bytes: [UInt8], to path: String) throws(SystemError) {
        let (folder, name) = split(path)
        let spare = "\(folder)/.\(name).spare"
        try FileDescriptor.open(spare, O_WRONLY | O_CREAT, mode: 0o644).closeAfter { file throws(SystemError) in
            try file.writeAll(bytes, at: 0)
            try systemCall("ftruncate", spare) { ftruncate(file.rawValue, off_t(bytes.count)) }
        }
        do {
            try FileSystem.exchange(spare, path)
        } catch where error.errno == .noSuchFile {
            try rename(spare, to: path)  // the first write: nothing to swap with yet
        }
    }

    /// Removes a file written by `rewrite`, and its spare.
    public static func remove(_ path: String) throws(SystemError) {
        let (folder, name) = split(path)
        unlink("\(folder)/.\(name).spare")
        if unlink(path) != 0 && Errno.current != .noSuchFile { throw SystemError("unlink", Errno.current, subject: path) }
    }

    private static let processID = getpid()

    /// Renames within one filesystem: atomic, and the state transition of everything here.
    /// The corresponding C function is `rename`.
    public static func rename(_ from: String, to: String) throws(SystemError) {
        try systemCall("rename", "\(from) -> \(to)") { Glibc.rename(from, to) }
    }

    /// Makes the folder's entries (creations, renames, deletions) durable.
    /// The corresponding C function is `fsync` on the folder.
    public static func syncFolder(_ folder: String) throws(SystemError) {
        try FileDescriptor.open(folder, O_RDONLY | O_DIRECTORY).closeAfter { folder throws(SystemError) in try folder.sync() }
    }

    static func split(_ path: String) -> (folder: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let folder = slash == path.startIndex ? "/" : String(path[..<slash])
        return (folder, String(path[path.index(after: slash)...]))
    }
}
