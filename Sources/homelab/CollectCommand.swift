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
            do {
                let reactor = try Reactor()
                defer { reactor.shutdown() }
                try reactor.stopOnTermination { signal in logger.info("\(Signals.name(signal)) received: stopping") }
                let startedAt = Timestamp.now()
                func writeStatus() {
                    guard onRoot else { return }
                    let status: JSONValue = .object([
                        "service": .string(DockerCollector.service), "pid": .int(Int(ProcessID.current)), "host": .string(host),
                        "startedAt": .string(startedAt.iso8601), "heartbeatAt": .string(Timestamp.now().iso8601Milliseconds),
                        "counters": .object(["snapshots": .int(collector.snapshots), "reported": .int(collector.reported)]),
                    ])
                    try? AtomicFile.rewrite(JSONWriter.encode(status) + [0x0A], to: configuration.root.serviceState(DockerCollector.service))
                }
                let period = Duration.seconds(configuration.heartbeatSeconds)
                reactor.timer(after: period, repeating: period) { writeStatus() }
                writeStatus()
                logger.info("collecting docker containers as container/\(host)/NAME into \(inbox)")
                collector.start(on: reactor)
                try reactor.run()
                collector.stop()
                if onRoot { ServiceHeartbeat.markStopped(DockerCollector.service, root: configuration.root) }
                logger.info("stopped: \(collector.snapshots) snapshots, \(collector.reported) reports")
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
