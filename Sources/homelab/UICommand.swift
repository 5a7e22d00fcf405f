#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore
import UI

extension Command {
    static let ui = Command(
        name: "ui",
        summary: "run the operator UI: dashboard, API, live events, approvals",
        help: """
        usage: homelab ui

        Serves the dashboard and the HTTP API of SPEC §7 on $HOMELAB_UI_ADDR (default
        0.0.0.0:8080), streaming changes to browsers over Server-Sent Events at /stream.
        Approve and reject need the operator token ($HOMELAB_UI_TOKEN, else the file
        $HOMELAB_UI_TOKEN_FILE, default $HOMELAB_ROOT/secrets/ui-token, created with mode 0600
        if missing; one that cannot be read stops the start) as a Bearer header or the session
        cookie the page sets (12 h; delete $HOMELAB_ROOT/secrets/session-secret to end them all).
        HOMELAB_UI_AUTH=all protects reads too (default: write). HOMELAB_AGENT_LEASE_SECONDS: how long
        an agent's claimed action outlives the loss of its stream before it fails as interrupted
        (default 60; docs/remote-actions.md).
        """,
        run: { arguments in
            let environment = Configuration.processEnvironment()
            var settings = UIService.Settings()
            switch environment["HOMELAB_UI_AUTH"] ?? "write" {
            case "", "write": settings.protectReads = false
            case "all": settings.protectReads = true
            case let other:
                CommandLine.warn("ui: HOMELAB_UI_AUTH: \"\(other)\" is not write or all")
                return 2
            }
            if let text = environment["HOMELAB_AGENT_LEASE_SECONDS"], !text.isEmpty {
                guard let seconds = Int(text), seconds >= 1, seconds <= 86400 else {
                    CommandLine.warn("ui: HOMELAB_AGENT_LEASE_SECONDS: \"\(text)\" is not a whole number of seconds from 1 to 86400")
                    return 2
                }
                settings.agentLease = .seconds(seconds)
            }
            return ServiceLauncher.serve(UIService.service, arguments) { configuration, logger in
                settings.address = configuration.uiAddress
                let (token, createdIn) = try OperatorToken.load(environment: environment, root: configuration.root)
                if let createdIn { logger.info("created the operator token in \(createdIn)") }
                settings.token = token
                return UIService(configuration: configuration, logger: logger, settings: settings)
            }
        }
    )
}
