#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport

@Suite(.timeLimit(.minutes(5))) struct CommandLineTests {
    @Test func noCommandPrintsUsageAndExits2() throws {
        let (status, output, errors) = try HomelabProcess.run([])
        #expect(status == 2)
        #expect(output.isEmpty)
        #expect(errors.hasPrefix("usage: homelab COMMAND"))
    }

    @Test func unknownCommandIsNamedThenUsage() throws {
        let (status, _, errors) = try HomelabProcess.run(["frobnicate"])
        #expect(status == 2)
        #expect(errors.hasPrefix("homelab: unknown command 'frobnicate'\nusage: homelab COMMAND"))
    }

    @Test func helpListsTheCommandsOnStandardOutput() throws {
        let (status, output, _) = try HomelabProcess.run(["--help"])
        #expect(status == 0)
        #expect(output.contains("\n  watch "))
        let (watchStatus, watchHelp, _) = try HomelabProcess.run(["watch", "--help"])
        #expect(watchStatus == 0)
        #expect(watchHelp.hasPrefix("usage: homelab watch FOLDER"))
    }

    @Test func watchOfAMissingFolderFailsWithOneLine() throws {
        let (status, _, errors) = try HomelabProcess.run(["watch", "/nonexistent/inbox"])
        #expect(status == 1)
        #expect(errors == "homelab: watch: inotify_add_watch /nonexistent/inbox: No such file or directory (ENOENT)\n")
        let (usageStatus, _, usage) = try HomelabProcess.run(["watch", "--bogus"])
        #expect(usageStatus == 2)
        #expect(usage.contains("unexpected argument '--bogus'"))
    }

    @Test func watchReportsFilesAndStopsCleanlyOnSIGTERM() throws {
        let folder = NSTemporaryDirectory() + "cli-watch-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "{}".write(toFile: folder + "/before.json", atomically: false, encoding: .utf8)
        let child = try HomelabProcess(["watch", folder, "--recursive"])
        #expect(child.waitUntil { $0.standardOutput.contains("ready \(folder)/before.json\n") })
        try FileManager.default.createDirectory(atPath: folder + "/2026-11-26", withIntermediateDirectories: false)
        try "{}".write(toFile: folder + "/2026-11-26/after.json", atomically: true, encoding: .utf8)
        #expect(child.waitUntil { $0.standardOutput.contains("ready \(folder)/2026-11-26/after.json\n") })
        // Process-directed, as `docker stop` sends it: it must arrive through the loop.
        kill(child.process.processIdentifier, SIGTERM)
        let status = child.waitForExit(timeout: 2)
        #expect(status == 0)
        #expect(child.standardError.contains("watch: SIGTERM, stopping"))
        #expect(child.standardError.contains("watch: stopped after"))
    }

    /// `homelab agent-token NODE` makes a 0600 token once, then shows the same one; the token is
    /// the last word of the last line.
    @Test func agentTokenIsMadeOnceThenShown() throws {
        let folder = TemporaryFolder("agent-token")
        let environment = ["HOMELAB_ROOT": folder.path + "/root"]
        let (status, output, _) = try HomelabProcess.run(["agent-token", "nas"], environment: environment)
        #expect(status == 0)
        let token = String(output.split(separator: "\n").last?.split(separator: " ").last ?? "")
        #expect(token.count >= 32)
        let path = folder.path + "/root/secrets/agents/nas.token"
        #expect(try String(contentsOfFile: path, encoding: .utf8) == token + "\n")
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o600)
        let (again, shown, _) = try HomelabProcess.run(["agent-token", "nas"], environment: environment)
        #expect(again == 0)
        #expect(shown.split(separator: "\n").last?.split(separator: " ").last.map(String.init) == token)
        let (bad, _, errors) = try HomelabProcess.run(["agent-token", "../etc"], environment: environment)
        #expect(bad == 2)
        #expect(errors.contains("is not a node name"))
    }
}
