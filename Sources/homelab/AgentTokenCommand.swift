#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

extension Command {
    static let agentToken = Command(
        name: "agent-token",
        summary: "make (or show) the token a node's agent posts its events with",
        help: """
        usage: homelab agent-token NODE

        On the VPS: makes $HOMELAB_ROOT/secrets/agents/NODE.token (mode 0600, owned like the
        secrets folder so the UI can read it) unless it exists, and prints the token as the last
        word of the last line. Give it to the node's agent (HOMELAB_AGENT_TOKEN_FILE, or
        scripts/bootstrap/agent.sh --token). The token speaks only for node/NODE: the UI refuses
        (403) its events for any other node.

        Revoke it by deleting the file: the UI checks the file on every request, so the next
        post with it is refused (401). Run the command again for a new one.
        """,
        run: { arguments in
            guard arguments.count == 1, let node = arguments.first else {
                CommandLine.warn("agent-token: which node? usage: homelab agent-token NODE")
                return 2
            }
            guard Subject.isValidNodeName(node) else {
                CommandLine.warn("agent-token: \"\(node)\" is not a node name ([A-Za-z0-9][A-Za-z0-9._-]*)")
                return 2
            }
            guard let configuration = Configuration.forCommand("agent-token") else { return 2 }
            let root = configuration.root
            let path = root.agentToken(node)
            if let token = TokenFile.read(path) {
                print("node \(node) already has a token (\(path)): \(token)")
                return 0
            }
            do {
                try root.create()
                let token = "hla_" + Digest.randomHex(bytes: 24)
                try AtomicFile.write(token + "\n", to: path, mode: 0o600)
                // Owned like the folder (the UI's user in the compose stack), not by whoever ran this.
                var folder = stat()
                if stat(root.secrets, &folder) == 0 && geteuid() == 0 {
                    chown(root.agentTokens, folder.st_uid, folder.st_gid)
                    chown(path, folder.st_uid, folder.st_gid)
                }
                print("made a token for node \(node) in \(path): \(token)")
                return 0
            } catch {
                CommandLine.warn("agent-token: cannot write \(path): \(error)")
                return 1
            }
        }
    )
}
