#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The `homelab` binary built beside this test bundle, run as a child process.
final class HomelabProcess: @unchecked Sendable {
    /// The debug build beside the tests, or `HOMELAB_BINARY` (a release build, for figures).
    static var binary: String {
        if let chosen = ProcessInfo.processInfo.environment["HOMELAB_BINARY"], !chosen.isEmpty { return chosen }
        let bundle = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        return bundle.appendingPathComponent("homelab").path
    }

    let process = Process()
    private let output = Pipe(), errors = Pipe()
    private let lock = NSLock()
    private var outText = "", errText = ""

    /// Runs `homelab ARGUMENTS`, or `LAUNCHER... homelab ARGUMENTS` (e.g. setpriv to drop root).
    init(_ arguments: [String], environment: [String: String] = [:], launcher: [String] = []) throws {
        if let program = launcher.first {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = Array(launcher.dropFirst()) + [HomelabProcess.binary] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: HomelabProcess.binary)
            process.arguments = arguments
        }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = output
        process.standardError = errors
        output.fileHandleForReading.readabilityHandler = { [unowned self] handle in
            let text = String(decoding: handle.availableData, as: UTF8.self)
            lock.withLock { outText += text }
        }
        errors.fileHandleForReading.readabilityHandler = { [unowned self] handle in
            let text = String(decoding: handle.availableData, as: UTF8.self)
            lock.withLock { errText += text }
        }
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var standardOutput: String { lock.withLock { outText } }
    var standardError: String { lock.withLock { errText } }

    /// Polls (this is the test's side, not the product's) until `condition` holds.
    @discardableResult
    func waitUntil(timeout: TimeInterval = 10, _ condition: (HomelabProcess) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition(self) { return true }
            usleep(10_000)
        }
        return condition(self)
    }

    /// Waits for the exit; returns the status, or nil if it did not exit in time.
    func waitForExit(timeout: TimeInterval = 10) -> Int32? {
        guard waitUntil(timeout: timeout, { !$0.process.isRunning }) else { return nil }
        process.waitUntilExit()
        usleep(20_000)  // let the pipe handlers drain
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        output.fileHandleForReading.readabilityHandler = nil
        errors.fileHandleForReading.readabilityHandler = nil
    }

    /// Runs to completion and returns (status, stdout, stderr).
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (Int32, String, String) {
        let child = try HomelabProcess(arguments, environment: environment)
        let status = child.waitForExit() ?? -1
        return (status, child.standardOutput, child.standardError)
    }
}
