import FSWatch
import HomelabCore

/// The node agents' tokens, `secrets/agents/NODE.token` (SPEC §11), each bound to its node.
/// A token is looked up in what was last read of the folder and then checked against its file
/// on every use, so deleting the file revokes it at once — before any watch could report it.
final class AgentTokens {
    private let root: RuntimeRoot
    /// token → node, as last read.
    private var nodes: [String: String] = [:]

    init(root: RuntimeRoot) {
        self.root = root
        reload()
    }

    /// The node `token` speaks for, if it is a current agent token.
    func node(for token: String) -> String? {
        if nodes[token] == nil { reload() }  // made since the last read
        guard let node = nodes[token] else { return nil }
        guard let current = TokenFile.read(root.agentToken(node)), Digest.constantTimeEqual(Array(current.utf8), Array(token.utf8)) else {
            reload()  // revoked or replaced
            return nil
        }
        return node
    }

    private func reload() {
        var found: [String: String] = [:]
        for entry in listDirectory(root.agentTokens) where entry.kind == .regular && entry.name.hasSuffix(".token") && !entry.name.hasPrefix(".") {
            let node = String(entry.name.dropLast(6))
            guard Subject.isValidNodeName(node), let token = TokenFile.read(root.agentToken(node)) else { continue }
            found[token] = node
        }
        nodes = found
    }
}
