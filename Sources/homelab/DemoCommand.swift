#if canImport(Glibc)
import Glibc
#endif
import Demo
import FSWatch
import HomelabCore

extension Command {
    static let demo = Command(
        name: "demo",
        summary: "the whole loop on a local root: four services and a simulated homelab",
        help: """
        usage: homelab demo [--drift-every SECONDS]

        Starts the observer, supervisor, executor and ui, and a simulated homelab (the nodes
        and containers of the example inventory) that reports heartbeats and container states
        into the inbox and, every --drift-every seconds (default 20), lets one container drift:
        stopped, on another image, or gone. The supervisor proposes the catalog's fix; approve
        it in the dashboard (or `homelab approve ID`) and the executor runs it — a harmless
        echo of the real command — after which the simulated container is healthy again.
        Prints the dashboard's address and the operator token. Ctrl-C stops everything.

        Where §2's variables are unset: the runtime root is ./homelab-demo, the inventory
        ./examples/inventory (run it from the repository), the UI listens on 127.0.0.1:8080.
        """,
        run: { arguments in
            guard let options = Options.parse(arguments, command: "demo", valued: ["--drift-every"]) else { return 2 }
            let driftText = options.values["--drift-every"] ?? "20"
            guard let driftSeconds = Double(driftText), driftSeconds >= 0.1, driftSeconds <= 86_400 else {
                CommandLine.warn("demo: --drift-every: \"\(driftText)\" is not a number of seconds between 0.1 and 86400")
                return 2
            }
            var environment = Configuration.processEnvironment()
            let here = currentFolder()
            func fallback(_ name: String, _ value: String) {
                if (environment[name] ?? "").isEmpty { environment[name] = value }
            }
            fallback("HOMELAB_ROOT", here + "/homelab-demo")
            if (environment["HOMELAB_REPO"] ?? "").isEmpty { fallback("HOMELAB_INVENTORY", here + "/examples/inventory") }
            fallback("HOMELAB_UI_ADDR", "127.0.0.1:8080")
            guard let configuration = Configuration.forCommand("demo", environment: environment) else { return 2 }
            guard fileKind(configuration.inventory) == .directory else {
                CommandLine.warn("demo: no inventory at \(configuration.inventory) (run it from the repository, or set HOMELAB_INVENTORY)")
                return 2
            }
            let settings = Demo.Settings(
                configuration: configuration, environment: environment, binary: executablePath(),
                driftEvery: .milliseconds(Int(driftSeconds * 1000)), nodeHeartbeat: .seconds(min(configuration.heartbeatSeconds, 5)))
            do {
                try configuration.root.create()
            } catch {
                CommandLine.warn("demo: cannot prepare the runtime root: \(error)")
                return 1
            }
            let logger = Logger(service: "demo", level: configuration.logLevel, file: configuration.root.serviceLog("demo"))
            do {
                return try Demo.run(settings, logger: logger) { url, token in
                    // Straight to the descriptor: stdout may be a pipe, and this must not wait in a buffer.
                    try? FileDescriptor.writeAll(Array("""
                    homelab demo: runtime root \(configuration.root.path), inventory \(configuration.inventory)
                    dashboard:    \(url)
                    token:        \(token)
                    Approve the proposals as they appear; Ctrl-C stops everything.

                    """.utf8), to: 1)
                }
            } catch {
                CommandLine.warn("demo: \(error)")
                return 1
            }
        }
    )

    private static func currentFolder() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        return String(cBuffer: buffer)
    }

    /// This binary, so each service runs the same build as the demo.
    private static func executablePath() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        // readlink writes no NUL; the zeroed buffer, one longer than it may fill, ends the text.
        guard readlink("/proc/self/exe", &buffer, buffer.count - 1) > 0 else { return CommandLine.arguments[0] }
        return String(cBuffer: buffer)
    }
}
