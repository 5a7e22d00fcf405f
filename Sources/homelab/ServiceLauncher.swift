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

/// Parses `--name value` options and bare arguments against a fixed list of option names.
struct Options {
    var values: [String: String] = [:]
    var positional: [String] = []

    /// The options of `command`, or nil after one line saying what is wrong (the caller exits
    /// 2). A command that takes no bare arguments refuses them here.
    static func parse(_ arguments: [String], command: String, valued: Set<String> = [], flags: Set<String> = [],
                      takesArguments: Bool = false) -> Options? {
        do {
            let options = try Options(arguments, command: command, valued: valued, flags: flags)
            if !takesArguments, let unexpected = options.positional.first {
                CommandLine.warn("\(command): unexpected argument '\(unexpected)' (see homelab \(command) --help)")
                return nil
            }
            return options
        } catch {
            CommandLine.warn("\(error)")
            return nil
        }
    }

    init(_ arguments: [String], command: String, valued: Set<String>, flags: Set<String> = []) throws(UsageError) {
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if valued.contains(argument) {
                guard index + 1 < arguments.count else { throw UsageError("\(command): \(argument) needs a value") }
                values[argument] = arguments[index + 1]
                index += 2
            } else if flags.contains(argument) {
                values[argument] = ""
                index += 1
            } else if argument.hasPrefix("-") {
                throw UsageError("\(command): unknown option '\(argument)' (see homelab \(command) --help)")
            } else {
                positional.append(argument)
                index += 1
            }
        }
    }
}

struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
