#if canImport(Glibc)
import Glibc
#endif
import HomelabCore

/// One `homelab` subcommand: its name, its help text, and what it runs (returning the exit code).
struct Command: Sendable {
    let name: String
    let summary: String
    let help: String
    let run: @Sendable ([String]) -> Int32

    /// Every subcommand, in the order `--help` lists them.
    static let all: [Command] = [observer, supervisor, executor, ui, notifier, demo, status, approve, reject, propose, check, notify, emit, agent, agentToken, health, watch]

    static func printUsage(to fd: Int32) {
        var text = "usage: homelab COMMAND [ARGS...]\n\nThe homelab control plane: one binary, a subcommand per service and tool.\n\ncommands:\n"
        let width = (all.map(\.name.count).max() ?? 0) + 2
        for command in all {
            text += "  " + command.name + String(repeating: " ", count: width - command.name.count) + command.summary + "\n"
        }
        text += "\n`homelab COMMAND --help` describes one command.\n"
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { _ = write(fd, $0.baseAddress, $0.count) }
    }
}

extension Configuration {
    /// The settings (SPEC §2) for `command`, or nil after one line naming the bad one — the
    /// caller then exits 2.
    static func forCommand(_ command: String, environment: [String: String] = Configuration.processEnvironment()) -> Configuration? {
        do {
            return try Configuration(environment: environment)
        } catch {
            CommandLine.warn("\(command): \(error)")
            return nil
        }
    }
}

extension CommandLine {
    /// One line on stderr, prefixed with the program's name.
    static func warn(_ message: String) {
        let bytes = Array("homelab: \(message)\n".utf8)
        bytes.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
    }

    /// One line on stderr, then exit with `code`.
    static func fail(_ message: String, code: Int32 = 1) -> Never {
        warn(message)
        exit(code)
    }
}
