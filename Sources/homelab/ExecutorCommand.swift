import Executor
import HomelabCore

extension Command {
    static let executor = Command(
        name: "executor",
        summary: "run the executor: approved actions, run once each",
        help: """
        usage: homelab executor

        Runs the executor in the foreground: claims each action renamed into
        actions/approved/ (and those there at start-up) by moving it to running/, resolves its
        command in the catalog ($HOMELAB_INVENTORY/actions/NAME.json) as it is now, checks
        every arg against its param's pattern, runs the argv directly (no shell) with a minimal
        environment in a folder of its own, streams its output to logs/actions/ID.log, enforces
        the entry's timeoutSeconds, and records the result in done/ or failed/. Actions left in
        running/ by an executor that died are moved to failed/ as interrupted, never re-run.

        An action's environment is PATH, HOME (its folder), LANG and HOMELAB_ACTION_ID, plus
        DOCKER_CONFIG when the executor has it: where `docker --context NODE` finds its contexts.

        An action whose catalog entry says where it runs ("runsOn") is handed to that node's
        agent (docs/remote-actions.md), unless that node is this one (HOMELAB_NODE): then it
        runs here, on this host.

        environment: HOMELAB_ROOT, HOMELAB_REPO, HOMELAB_INVENTORY, HOMELAB_EXECUTOR_CONCURRENCY
                     (default 2), HOMELAB_NODE (this host's node name; unset: every runsOn action
                     is handed off), HOMELAB_HEARTBEAT_SECONDS, HOMELAB_LOG_LEVEL, DOCKER_CONFIG
        """,
        run: { arguments in
            var settings = ExecutorService.Settings()
            let environment = Configuration.processEnvironment()
            if let config = environment["DOCKER_CONFIG"], !config.isEmpty { settings.passedEnvironment["DOCKER_CONFIG"] = config }
            if let text = environment["HOMELAB_EXECUTOR_CONCURRENCY"], !text.isEmpty {
                guard let value = Int(text), (1...64).contains(value) else {
                    CommandLine.warn("executor: HOMELAB_EXECUTOR_CONCURRENCY: \"\(text)\" is not a whole number between 1 and 64")
                    return 2
                }
                settings.concurrency = value
            }
            if let node = environment["HOMELAB_NODE"], !node.isEmpty {
                guard Subject.isValidNodeName(node) else {
                    CommandLine.warn("executor: HOMELAB_NODE: \"\(node)\" is not a valid node name ([A-Za-z0-9][A-Za-z0-9._-]*)")
                    return 2
                }
                settings.localNode = node
            }
            return ServiceLauncher.serve(ExecutorService.service, arguments) { configuration, logger in
                ExecutorService(configuration: configuration, logger: logger, settings: settings)
            }
        }
    )
}
