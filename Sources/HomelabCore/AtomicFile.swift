#if canImport(Glibc)
import Glibc
#endif
import FSWatch

/// The one way any service writes a file under the runtime root: the bytes go to a hidden
/// temporary in the same folder, are fsynced, and are renamed over the final name, so no
/// reader ever sees half a file. With `durable`, the folder is fsynced too, so the rename
/// itself survives a power cut.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644, durable: Bool = true) throws(SystemError) {
        let (folder, name) = split(path)
        let temporary = "\(folder)/.\(name).\(getpid()).tmp"
        let fd = try FileDescriptor.open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
        do {
            try fd.writeAll(bytes)
            try fd.sync()
            fd.close()
            try rename(temporary, to: path)
        } catch {
            unlink(temporary)
            throw error
        }
        if durable { try syncFolder(folder) }
    }

    public static func write(_ text: String, to path: String, mode: mode_t = 0o644, durable: Bool = true) throws(SystemError) {
        try write(Array(text.utf8), to: path, mode: mode, durable: durable)
    }

    /// Renames within one filesystem: atomic, and the state transition of everything here.
    /// The corresponding C function is `rename`.
    public static func rename(_ from: String, to: String) throws(SystemError) {
        try systemCall("rename", "\(from) -> \(to)") { Glibc.rename(from, to) }
    }

    /// Makes the folder's entries (creations, renames, deletions) durable.
    /// The corresponding C function is `fsync` on the folder.
    public static func syncFolder(_ folder: String) throws(SystemError) {
        let fd = try FileDescriptor.open(folder, O_RDONLY | O_DIRECTORY)
        try fd.sync()
    }

    static func split(_ path: String) -> (folder: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let folder = slash == path.startIndex ? "/" : String(path[..<slash])
        return (folder, String(path[path.index(after: slash)...]))
    }
}
