#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// `homelab demo`: the four services as child processes on one runtime root, plus a
/// simulated homelab feeding their inbox, until SIGINT or SIGTERM stops them all.
public enum Demo {
    public struct Settings {
        public var configuration: Configuration
        /// The services' environment (it names the root, the inventory and the UI address).
        public var environment: [String: String]
        /// This program, started once per service.
        public var binary: String
        public var driftEvery: Duration
        public var nodeHeartbeat: Duration

        public init(configuration: Configuration, environment: [String: String], binary: String, driftEvery: Duration, nodeHeartbeat: Duration) {
            self.configuration = configuration
            self.environment = environment
            self.binary = binary
            self.driftEvery = driftEvery
            self.nodeHeartbeat = nodeHeartbeat
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs the demo; `ready` receives the dashboard's URL and the operator token once the
    /// services are started. Returns 0 after a requested stop, 1 when a service died.
    public static func run(_ settings: Settings, logger: Logger, ready: @escaping (String, String) -> Void) throws -> Int32 {
        let configuration = settings.configuration
        let inventory: Inventory
        do {
            inventory = try Inventory.load(configuration.inventory)
        } catch {
            throw Failure(description: "\(error)")
        }
        if let problem = inventory.problems.first {
            throw Failure(description: "the inventory has problems (homelab check \(configuration.inventory)): \(problem)")
        }
        let root = configuration.root
        try root.create()
        let token = try OperatorToken.load(environment: settings.environment, root: root).token

        let reactor = try Reactor()
        defer { reactor.shutdown() }
        var exitCode: Int32 = 0
        let services = ServiceProcesses(reactor: reactor)
        var stopping = false
        func stopAll(_ reason: String) {
            guard !stopping else { return }
            stopping = true
            logger.info("\(reason): stopping \(services.running.joined(separator: ", "))")
            services.stop { reactor.stop() }
        }
        services.unexpectedExit = { name, exit in
            logger.error("\(name) ended on its own (\(exit)); see \(root.serviceLog(name))")
            exitCode = 1
            stopAll("\(name) is gone")
        }
        // SIGHUP too: the demo belongs to its terminal, and closing that ends it.
        try reactor.onSignals(Signals.termination + [SIGHUP]) { signal in stopAll("\(Signals.name(signal)) received") }

        // The homelab reports first and the observer starts alone; the other services follow
        // once it has taken that report from the inbox, so the supervisor's first look at
        // the world sees it whole rather than proposing to fix what simply is not in yet.
        let homelab = SimulatedHomelab(reactor: reactor, root: root, inventory: inventory) { logger.info($0) }
        homelab.reportAll()
        try services.start(["observer"], binary: settings.binary, environment: settings.environment, folder: root.path)
        var inboxWatch: DirectoryWatch?
        var startedAll = false
        func startTheRest() {
            guard !startedAll, !stopping else { return }
            startedAll = true
            inboxWatch?.close()
            do {
                // The notifier too when the inventory names targets (messages link to this dashboard).
                var environment = settings.environment
                if environment["HOMELAB_PUBLIC_URL"] == nil { environment["HOMELAB_PUBLIC_URL"] = dashboardURL(configuration.uiAddress) }
                try services.start(["supervisor", "executor", "ui"] + (inventory.notify.isEmpty ? [] : ["notifier"]), binary: settings.binary,
                                   environment: environment, folder: root.path)
                try homelab.start(heartbeat: settings.nodeHeartbeat, driftEvery: settings.driftEvery)
                ready(dashboardURL(configuration.uiAddress), token)
            } catch {
                logger.error("cannot start the demo: \(error)")
                exitCode = 1
                stopAll("start-up failed")
            }
        }
        func inboxIsEmpty() -> Bool { !listDirectory(root.inbox).contains { $0.name.hasSuffix(".json") && !$0.name.hasPrefix(".") } }
        inboxWatch = try DirectoryWatch(reactor: reactor, root: root.inbox) { _ in
            if inboxIsEmpty() { startTheRest() }
        }
        reactor.runSoon { if inboxIsEmpty() { startTheRest() } }  // taken before the watch stood
        reactor.timer(after: .seconds(3)) { startTheRest() }  // an observer that is slow to start
        try reactor.run()
        return exitCode
    }

    /// Where a browser on this machine reaches the UI: a wildcard address means loopback.
    static func dashboardURL(_ address: String) -> String {
        var host = address
        var port = ""
        if let colon = address.lastIndex(of: ":") {
            host = String(address[..<colon])
            port = String(address[address.index(after: colon)...])
        }
        if host.isEmpty || host == "0.0.0.0" || host == "[::]" || host == "::" { host = "127.0.0.1" }
        return "http://\(host)\(port.isEmpty ? "" : ":" + port)/"
    }
}
