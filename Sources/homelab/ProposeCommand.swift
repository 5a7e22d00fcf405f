import HomelabCore

extension Command {
    static let propose = Command(
        name: "propose",
        summary: "ask the supervisor for a proposal now (overrides back-off and flapping)",
        help: """
        usage: homelab propose KIND/NAME [--as OPERATOR]

        Asks the supervisor to propose the action that answers the resource's drift now, setting
        aside its back-off, its flapping and an earlier rejection (SPEC §12): a request file in
        $HOMELAB_ROOT/requests/propose/ that the supervisor takes at once (or when it next
        starts). The proposal is the operator's (default: $USER): action.proposed names them.
        Exit 0 requested, 1 when state/drift.json shows no drift of the resource that an action
        answers.
        """,
        run: { arguments in
            guard let options = Options.parse(arguments, command: "propose", valued: ["--as"], takesArguments: true) else { return 2 }
            guard options.positional.count == 1, let text = options.positional.first else {
                CommandLine.warn("propose: which resource? (KIND/NAME, see homelab propose --help)")
                return 2
            }
            guard case .success(let resource) = Subject.parse(text) else {
                CommandLine.warn("propose: \"\(text)\" is not a KIND/NAME")
                return 2
            }
            let environment = Configuration.processEnvironment()
            guard let root = Configuration.forCommand("propose", environment: environment)?.root else { return 2 }
            let name = options.values["--as"] ?? environment["USER"] ?? "shell"
            do {
                switch try ProposalRequest.submit(ProposalRequest(resource: resource, operatorName: name, remote: "shell"), root: root) {
                case .requested:
                    print("\(resource): proposal requested by \(name); the supervisor proposes it now (homelab status shows it)")
                    return 0
                case .nothingToPropose:
                    CommandLine.warn("propose: \(resource) has no drift that a catalog action answers (state/drift.json)")
                    return 1
                }
            } catch {
                CommandLine.warn("propose: \(error)")
                return 1
            }
        }
    )
}
