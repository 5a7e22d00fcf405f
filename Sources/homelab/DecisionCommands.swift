import HomelabCore

extension Command {
    static let approve = decision(.approve)
    static let reject = decision(.reject)

    private static func decision(_ verdict: OperatorDecision.Verdict) -> Command {
        let name = verdict.rawValue
        return Command(
            name: name,
            summary: "\(name) a pending action from a shell",
            help: """
            usage: homelab \(name) ID [--as OPERATOR]

            Moves actions/pending/ID.json to \(verdict == .approve ? "approved" : "rejected")/ — the same rules and audit as the
            UI's button: one rename, so against a supersede or another operator exactly one
            wins, and an action.\(verdict == .approve ? "approved" : "rejected") event records the operator (default: $USER)
            and "shell" as the remote address. Exit 0 done, 1 unknown ID, 3 no longer pending.
            """,
            run: { arguments in
                guard let options = Options.parse(arguments, command: name, valued: ["--as"], takesArguments: true) else { return 2 }
                guard options.positional.count == 1, let id = options.positional.first else {
                    CommandLine.warn("\(name): which action? (see homelab \(name) --help)")
                    return 2
                }
                let environment = Configuration.processEnvironment()
                guard let root = Configuration.forCommand(name, environment: environment)?.root else { return 2 }
                let operatorName = options.values["--as"] ?? environment["USER"] ?? "shell"
                do {
                    switch try OperatorDecision.decide(verdict, id: id, root: root, operator: operatorName, remote: "shell") {
                    case .done:
                        print("\(id): \(verdict == .approve ? "approved" : "rejected") by \(operatorName)")
                        return 0
                    case .unknown:
                        CommandLine.warn("\(name): no action \(id)")
                        return 1
                    case .notPending(let state):
                        CommandLine.warn("\(name): \(id) is no longer pending (it is \(state))")
                        return 3
                    }
                } catch {
                    CommandLine.warn("\(name): \(error)")
                    return 1
                }
            }
        )
    }
}
