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
