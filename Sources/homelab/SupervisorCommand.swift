import HomelabCore
import Supervisor

extension Command {
    static let supervisor = Command(
        name: "supervisor",
        summary: "run the supervisor: desired state vs world → drift and proposals",
        help: """
        usage: homelab supervisor

        Runs the supervisor in the foreground: loads the desired state and the action catalog
        from $HOMELAB_INVENTORY (default $HOMELAB_REPO/inventory), compares them with world/,
        writes state/drift.json, proposes one action per remediable drift into
        actions/pending/ (or approved/ for autoApprove catalog entries) and supersedes pending
        ones whose drift is gone. Inventory changes (a git checkout, pull or rollback) are
        debounced into one evaluation; SIGHUP reloads the inventory; SIGTERM stops it.

        environment: HOMELAB_ROOT, HOMELAB_REPO, HOMELAB_INVENTORY, HOMELAB_HEARTBEAT_SECONDS, HOMELAB_LOG_LEVEL
        """,
        run: { arguments in
            ServiceLauncher.serve(SupervisorService.service, arguments) { configuration, logger in
                SupervisorService(configuration: configuration, logger: logger)
            }
        }
    )

    static let check = Command(
        name: "check",
        summary: "validate the inventory and the action catalog",
        help: """
        usage: homelab check [INVENTORY]

        Validates the desired resources (resources/**/*.json) and the action catalog
        (actions/*.json) of INVENTORY (default $HOMELAB_INVENTORY, else $HOMELAB_REPO/inventory).
        Prints FILE: REASON for each problem and exits 1; prints nothing and exits 0 when clean.
        """,
        run: { arguments in
            guard arguments.count <= 1 else {
                CommandLine.warn("check: unexpected argument '\(arguments[1])' (see homelab check --help)")
                return 2
            }
            let folder: String
            if let given = arguments.first {
                folder = given
            } else {
                guard let configured = Configuration.forCommand("check")?.inventory else { return 2 }
                folder = configured
            }
            let inventory: Inventory
            do {
                inventory = try Inventory.load(folder)
            } catch {
                CommandLine.warn("check: \(error)")
                return 1
            }
            for problem in inventory.problems { print("\(folder)/\(problem.file): \(problem.reason)") }
            return inventory.problems.isEmpty ? 0 : 1
        }
    )
}
