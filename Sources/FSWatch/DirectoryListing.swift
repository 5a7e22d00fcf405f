#if canImport(Glibc)
import Glibc
#endif

/// One entry of a folder listing, typed without following symlinks.
public struct DirectoryEntry: Sendable {
    public enum Kind: Sendable { case directory, regular, other }
    public let name: String
    public let kind: Kind
}

/// Lists `path` (without `.` and `..`). A folder that vanished lists as empty.
/// The corresponding C functions are `opendir` and `readdir`.
public func listDirectory(_ path: String) -> [DirectoryEntry] {
    guard let dir = opendir(path) else { return [] }
    defer { closedir(dir) }
    var entries: [DirectoryEntry] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        if name == "." || name == ".." { continue }
        let kind: DirectoryEntry.Kind
        switch Int32(entry.pointee.d_type) {
        case Int32(DT_DIR): kind = .directory
        case Int32(DT_REG): kind = .regular
        case Int32(DT_UNKNOWN): kind = fileKind(path + "/" + name) ?? .other
        default: kind = .other
        }
        entries.append(DirectoryEntry(name: name, kind: kind))
    }
    return entries
}

/// Calls `body(path, name)` for every entry under `folder` that is not a folder, depth first;
/// `enter(path, name)` says which folders to go into (every one, by default).
public func forEachFile(under folder: String, enter: (String, String) -> Bool = { _, _ in true },
                        _ body: (String, String) -> Void) {
    for entry in listDirectory(folder) {
        let path = folder + "/" + entry.name
        if entry.kind == .directory {
            if enter(path, entry.name) { forEachFile(under: path, enter: enter, body) }
        } else {
            body(path, entry.name)
        }
    }
}

/// The type of `path` itself (a symlink is `.other`); nil when it does not exist.
/// The corresponding C function is `lstat`.
public func fileKind(_ path: String) -> DirectoryEntry.Kind? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    switch info.st_mode & S_IFMT {
    case S_IFDIR: return .directory
    case S_IFREG: return .regular
    default: return .other
    }
}

/// Removes `path` and everything under it, without following symlinks; what cannot be
/// removed stays. The corresponding C functions are `unlink` and `rmdir`.
public func removeTree(_ path: String) {
    for entry in listDirectory(path) {
        let child = path + "/" + entry.name
        if entry.kind == .directory { removeTree(child) } else { unlink(child) }
    }
    rmdir(path)
}
