#if canImport(Glibc)
import Glibc
#endif
import FSWatch

/// The operator token (SPEC §7): `HOMELAB_UI_TOKEN`, else the file `HOMELAB_UI_TOKEN_FILE`
/// (default `secrets/ui-token`), created with mode 0600 when missing so a fresh root is never open.
/// Only a missing file is created: one that exists but cannot be read (its mode, its owner, a
/// folder in its place) or is empty is an error, because replacing it would lock out the
/// operator who holds the token it had.
public enum OperatorToken {
    /// The token and, when it was just created, the file it was written to.
    public static func load(environment: [String: String], root: RuntimeRoot) throws(SystemError) -> (token: String, createdIn: String?) {
        if let token = environment["HOMELAB_UI_TOKEN"], !token.isEmpty { return (token, nil) }
        let path = environment["HOMELAB_UI_TOKEN_FILE"].flatMap { $0.isEmpty ? nil : $0 } ?? root.uiToken
        var info = stat()
        if stat(path, &info) != 0 {
            let error = Errno.current
            guard error == .noSuchFile else { throw unreadable(path, error) }
            let token = Digest.randomHex(bytes: 24)
            try AtomicFile.write(token + "\n", to: path, mode: 0o600)
            return (token, path)
        }
        guard info.st_mode & S_IFMT == S_IFREG else { throw unreadable(path, Errno(rawValue: EISDIR), what: "is not a file") }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw unreadable(path, Errno.current) }
        close(fd)
        guard let token = TokenFile.read(path) else { throw unreadable(path, Errno(rawValue: EINVAL), what: "is empty") }
        return (token, nil)
    }

    private static func unreadable(_ path: String, _ error: Errno, what: String? = nil) -> SystemError {
        SystemError("read", error, subject: "the operator token \(path) \(what ?? "cannot be read") (fix it, or remove it to have a new one made)")
    }
}
