import HomelabCore
import Notifier

extension Command {
    static let notifier = Command(
        name: "notifier",
        summary: "run the notifier: the event log and heartbeats → messages to ntfy, Gotify, webhooks",
        help: """
        usage: homelab notifier

        Runs the notifier in the foreground (SPEC §12, docs/notifications.md): follows the event
        log and the services' heartbeats, decides what deserves a message (a proposal waiting,
        an action failed or unverified, a flapping resource, a node stale or back, a service
        down or back, an agent's lost reports, event ingest paused or resumed), groups storms
        into one message, and delivers each through notify/outbox/ to the targets of
        $HOMELAB_INVENTORY/notify/*.json, at least once, with retries and back-off. SIGHUP
        reloads the targets; SIGTERM stops it.

        environment: HOMELAB_ROOT, HOMELAB_REPO, HOMELAB_INVENTORY, HOMELAB_HEARTBEAT_SECONDS, HOMELAB_LOG_LEVEL,
          HOMELAB_PUBLIC_URL (the dashboard's address, for links), HOMELAB_NOTIFY_GROUP_MS (2000),
          HOMELAB_NOTIFY_BACKOFF_MAX_MS (60000), HOMELAB_NOTIFY_NODE_STALE_SECONDS (4 heartbeats)
        """,
        run: { arguments in
            let settings: NotifierSettings
            do {
                settings = try NotifierSettings(environment: Configuration.processEnvironment())
            } catch {
                CommandLine.warn("notifier: \(error)")
                return 2
            }
            return ServiceLauncher.serve(NotifierService.service, arguments) { configuration, logger in
                NotifierService(configuration: configuration, settings: settings, logger: logger)
            }
        }
    )

    static let notify = Command(
        name: "notify",
        summary: "send a test message to a notify target",
        help: """
        usage: homelab notify test TARGET

        Sends one test message to TARGET ($HOMELAB_INVENTORY/notify/TARGET.json) at once, with
        its secret from $HOMELAB_ROOT/secrets/, and prints the target's answer. Exit 0 on a 2xx,
        1 otherwise (unknown target, invalid file, no answer, another status).
        """,
        run: { arguments in
            guard let options = Options.parse(arguments, command: "notify", takesArguments: true) else { return 2 }
            guard options.positional.count == 2, options.positional[0] == "test" else {
                CommandLine.warn("notify: usage: homelab notify test TARGET")
                return 2
            }
            let name = options.positional[1]
            let environment = Configuration.processEnvironment()
            guard let configuration = Configuration.forCommand("notify", environment: environment) else { return 2 }
            let publicURL: String?
            do {
                publicURL = try NotifierSettings(environment: environment).publicURL
            } catch {
                CommandLine.warn("notify: \(error)")
                return 2
            }
            let inventory: Inventory
            do {
                inventory = try Inventory.load(configuration.inventory)
            } catch {
                CommandLine.warn("notify: \(error)")
                return 1
            }
            guard let target = inventory.notify[name] else {
                let problem = inventory.problems.first { $0.file == "notify/\(name).json" }
                CommandLine.warn("notify: " + (problem.map { "\(configuration.inventory)/\($0)" } ?? "no target \(name) in \(configuration.inventory)/notify/"))
                return 1
            }
            do {
                switch try NotifyTest.send(to: target, root: configuration.root, publicURL: publicURL) {
                case .success(let status) where (200..<300).contains(status):
                    print("\(name): \(target.kind.rawValue) \(target.url) answered \(status)")
                    return 0
                case .success(let status):
                    CommandLine.warn("notify: \(name): \(target.kind.rawValue) \(target.url) answered \(status)")
                    return 1
                case .failure(let error):
                    CommandLine.warn("notify: \(name): \(error)")
                    return 1
                }
            } catch {
                CommandLine.warn("notify: \(error)")
                return 1
            }
        }
    )
}
