import CLinuxShim

/// File system calls Swift's Glibc module does not export.
public enum FileSystem {
    /// Swaps the two names in one step: each now names what the other did, and a reader
    /// sees one file or the other, never neither. Both must exist (ENOENT otherwise).
    /// The corresponding C function is `renameat2` with `RENAME_EXCHANGE`.
    public static func exchange(_ a: String, _ b: String) throws(SystemError) {
        try systemCall("renameat2(RENAME_EXCHANGE)", "\(a) <-> \(b)") { CLinuxShim_rename_exchange(a, b) }
    }
}
