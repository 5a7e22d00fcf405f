#if canImport(Glibc)
import Glibc
#endif
import Collector
import FSWatch
import HomelabCore

extension Command {
    static let collect = Command(
        name: "collect",
        summary: "report this host's Docker containers into an inbox, following the engine's events",
        help: """
        usage: homelab collect docker [--host NAME] [--inbox PATH]

        Follows the Docker engine's event stream (`docker events`, no polling) and reports each
        container as resource.observed container/HOST/NAME (state, image, health, startedAt,
        composeProject, composeService), resource.removed when one is gone, and a
        resource.snapshot of all of them at start and after every reconnect. If the engine
        goes away it reconnects with backoff (0.5 s doubling to 30 s).

        --host   the name this host has in the world (default: the hostname)
        --inbox  where to deliver (default: $HOMELAB_ROOT/inbox); any folder a file transport
                 (rsync/scp over Tailscale) carries to the VPS inbox will do
        The docker CLI comes from PATH and honours DOCKER_HOST, DOCKER_CONTEXT and DOCKER_CONFIG.
        On a runtime root it writes its heartbeat to state/collector.json (homelab health collector).
        """,
        run: { arguments in
            guard let options = Options.parse(arguments, command: "collect", valued: ["--host", "--inbox"], takesArguments: true) else { return 2 }
            guard options.positional == ["docker"] else {
                CommandLine.warn("collect: what to collect? only 'docker' is known (see homelab collect --help)")
                return 2
            }
            let environment = Configuration.processEnvironment()
            guard let configuration = Configuration.forCommand("collect", environment: environment) else { return 2 }
            let host = options.values["--host"] ?? hostName()
            guard case .success = Subject.parse("container/\(host)/x"), !host.contains("/") else {
                CommandLine.warn("collect: --host: \"\(host)\" is not a valid name ([A-Za-z0-9][A-Za-z0-9._-]*)")
                return 2
            }
            guard let docker = ChildProcess.locate("docker", path: environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin") else {
                CommandLine.warn("collect: the docker CLI is not on PATH")
                return 2
            }
            let onRoot = options.values["--inbox"] == nil
            let inbox = options.values["--inbox"] ?? configuration.root.inbox
            guard fileKind(inbox) == .directory || onRoot else {
                CommandLine.warn("collect: --inbox: \(inbox) is not a folder")
                return 2
            }
            if onRoot {
                do { try configuration.root.create() } catch {
                    CommandLine.warn("collect: cannot prepare the runtime root: \(error)")
                    return 1
                }
            }
            let logger = Logger(service: DockerCollector.service, level: configuration.logLevel,
                                file: onRoot ? configuration.root.serviceLog(DockerCollector.service) : nil)
            let collector = DockerCollector(settings: .init(host: host, inbox: inbox, docker: docker, environment: environment), logger: logger)
            let runner = ServiceRunner.Settings(name: DockerCollector.service, root: onRoot ? configuration.root : nil,
                                                heartbeat: .seconds(configuration.heartbeatSeconds))
            do {
                try ServiceRunner.run(collector, runner, logger: logger)
                return 0
            } catch {
                logger.error("\(error)")
                return 1
            }
        }
    )

    private static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        let name = String(cBuffer: buffer)
        return String(name.prefix { $0 != "." }).lowercased()
    }
}
