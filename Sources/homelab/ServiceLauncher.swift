#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// What every service command shares: configuration from the environment (a bad setting is
/// one line and exit 2), the runtime root's layout, a logger to stderr and `logs/SERVICE.log`,
/// and one error line with exit 1 if the service stops on a failure.
enum ServiceLauncher {
    /// A service command: it takes no arguments; `make` builds the service, which the
    /// skeleton (`ServiceRunner`) then runs until it is stopped.
    static func serve(_ service: String, _ arguments: [String], _ make: (Configuration, Logger) throws -> any Service) -> Int32 {
        if let unexpected = arguments.first {
            CommandLine.warn("\(service): unexpected argument '\(unexpected)' (see homelab \(service) --help)")
            return 2
        }
        guard let configuration = Configuration.forCommand(service) else { return 2 }
        // The layout first: the log file lives in it.
        do {
            try configuration.root.create()
        } catch {
            CommandLine.warn("\(service): cannot prepare the runtime root: \(error)")
            return 1
        }
        let logger = Logger(service: service, level: configuration.logLevel, file: configuration.root.serviceLog(service))
        do {
            let settings = ServiceRunner.Settings(name: service, root: configuration.root, heartbeat: .seconds(configuration.heartbeatSeconds))
            try ServiceRunner.run(try make(configuration, logger), settings, logger: logger)
            return 0
        } catch {
            logger.error("\(error)")
            return 1
        }
    }
}
