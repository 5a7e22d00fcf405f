import FSWatch

/// The operator token (SPEC §7): `HOMELAB_UI_TOKEN`, else the file `HOMELAB_UI_TOKEN_FILE`
/// (default `secrets/ui-token`), created with mode 0600 when missing so a fresh root is never open.
public enum OperatorToken {
    /// The token and, when it was just created, the file it was written to.
    public static func load(environment: [String: String], root: RuntimeRoot) throws(SystemError) -> (token: String, createdIn: String?) {
        if let token = environment["HOMELAB_UI_TOKEN"], !token.isEmpty { return (token, nil) }
        let path = environment["HOMELAB_UI_TOKEN_FILE"].flatMap { $0.isEmpty ? nil : $0 } ?? root.uiToken
        if let bytes = FileContents.read(path) {
            let token = String(decoding: bytes, as: UTF8.self).filter { !$0.isWhitespace }
            if !token.isEmpty { return (token, nil) }
        }
        let token = Digest.randomHex(bytes: 24)
        try AtomicFile.write(token + "\n", to: path, mode: 0o600)
        return (token, path)
    }
}
