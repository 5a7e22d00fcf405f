/// `HOMELAB_AGENT_ALLOW` (SPEC §11): the programs a node runs for the VPS, whatever the
/// catalog in the repository says. The node's own last word: a compromised VPS or repository
/// still cannot make the node run a shell.
struct ActionAllowList: CustomStringConvertible {
    let entries: [String]

    /// An entry matches argv[0] as the catalog wrote it, or argv[0]'s base name.
    func allows(_ program: String) -> Bool {
        let base = program.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? program
        return entries.contains(program) || entries.contains(base)
    }

    /// What a refused action's result says.
    func refusal(_ program: String) -> String {
        "refused: \(program) is not in HOMELAB_AGENT_ALLOW (\(self))"
    }

    var description: String { entries.joined(separator: ",") }
}
