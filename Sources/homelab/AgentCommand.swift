import Agent
import FSWatch
import HomelabCore

extension Command {
    static let agent = Command(
        name: "agent",
        summary: "the node agent: the node's facts and Docker engine, spooled and delivered to the VPS",
        help: """
        usage: homelab agent [--server URL | --inbox PATH]

        Runs on every node of the homelab, the VPS included (SPEC §11). It reports the node:
        node.heartbeat node/NODE every HOMELAB_HEARTBEAT_SECONDS, and resource.observed node/NODE
        with its facts (host name, OS, kernel, boot, CPUs, load, memory, disks, Docker and agent
        versions, delivery state) when they change materially; the node's Docker engine
        (container/NODE/NAME, following `docker events`, no polling); and every event dropped
        into its own inbox (SPEC §4.1 files whose source is node/NODE). Every event but the
        heartbeat is spooled on disk first and leaves the spool only once delivered, so
        restarts and partitions lose nothing.

        Delivery, exactly one of:
          --server URL, HOMELAB_SERVER   POST URL/api/events (http:// only; TLS belongs to
                                         Tailscale or a proxy), with the node's token
          --inbox PATH                   drop each event as a file into PATH (the VPS: the
                                         runtime root's inbox, beside the observer)

        environment:
          HOMELAB_NODE                 this node's name (default: the host name's first label, lower-cased)
          HOMELAB_AGENT_TOKEN          the node's token (homelab agent-token NODE on the VPS), or
          HOMELAB_AGENT_TOKEN_FILE     a file holding it (re-read on SIGHUP and after a 401)
          HOMELAB_AGENT_SPOOL          the spool folder (default /var/lib/homelab-agent)
          HOMELAB_AGENT_SPOOL_MAX_MB   the spool's cap (default 256); past it container and node
                                       reports are counted as gaps, and a fresh snapshot follows
          HOMELAB_AGENT_INBOX          the agent's own inbox (default SPOOL/inbox; refusals go to
                                       rejected/ beside it, with NAME.reason.json)
          HOMELAB_AGENT_MOUNTS         more mounts whose disk use is reported, comma-separated (/ always is)
          HOMELAB_AGENT_DOCKER         0: do not report Docker (default 1; without a docker CLI or an
                                       engine the agent runs anyway and keeps trying)
          HOMELAB_HEARTBEAT_SECONDS    the heartbeat period (default 15)
          HOMELAB_LOG_LEVEL            debug, info, warning, error (default info)
        The docker CLI comes from PATH and honours DOCKER_HOST, DOCKER_CONTEXT and DOCKER_CONFIG.

        Status: SPOOL/.status.json, and with --inbox ROOT/inbox on a runtime root also
        ROOT/state/agent.json and logs/agent.log; `homelab health agent [--spool PATH]` checks it.
        A missing or invalid setting: one line naming it, exit 2. SIGTERM or Ctrl-C stops it
        (exit 0); SIGHUP re-reads the token file.
        """,
        run: { arguments in
            guard let options = Options.parse(arguments, command: "agent", valued: ["--inbox", "--server"]) else { return 2 }
            let environment = Configuration.processEnvironment()
            let settings: AgentSettings
            do {
                settings = try AgentSettings(environment: environment, flags: options.values, hostName: AgentSettings.hostName)
            } catch {
                CommandLine.warn("agent: \(error)")
                return 2
            }
            let root = settings.runtimeRoot
            let logger = Logger(service: AgentService.service, level: settings.logLevel, file: root.map { $0.serviceLog(AgentService.service) })
            let runner = ServiceRunner.Settings(name: AgentService.service, root: root, heartbeat: settings.heartbeat)
            do {
                try ServiceRunner.run(AgentService(settings: settings, logger: logger), runner, logger: logger)
                return 0
            } catch {
                logger.error("\(error)")
                return 1
            }
        }
    )
}
