#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

@Suite(.timeLimit(.minutes(5))) struct UICommandTests {
    @Test func theUIServesAndStopsCleanlyOnSIGTERM() throws {
        let fixture = try RuntimeFixture()
        let ui = try HomelabProcess(["ui"], environment: fixture.environment.merging(["HOMELAB_UI_ADDR": "127.0.0.1:0"]) { $1 })
        #expect(ui.waitUntil { $0.standardError.contains("listening on 127.0.0.1:") })
        #expect(ui.standardError.contains("created the operator token in \(fixture.root)/secrets/ui-token"))
        var info = stat()
        #expect(stat(fixture.root + "/secrets/ui-token", &info) == 0 && info.st_mode & 0o777 == 0o600)
        kill(ui.pid, SIGTERM)
        #expect(ui.waitForExit(timeout: 2) == 0)
        #expect(ui.standardError.contains("ui: stopped"))
    }

    @Test func anUnreadableTokenFileStopsTheStartInsteadOfBeingReplaced() throws {
        let fixture = try RuntimeFixture()
        try FileManager.default.createDirectory(atPath: fixture.root + "/secrets/ui-token", withIntermediateDirectories: true)
        let (status, _, errors) = try HomelabProcess.run(["ui"], environment: fixture.environment.merging(["HOMELAB_UI_ADDR": "127.0.0.1:0"]) { $1 })
        #expect(status == 1)
        #expect(errors.contains("the operator token \(fixture.root)/secrets/ui-token is not a file"), "\(errors)")
        #expect(errors.split(separator: "\n").count == 1, "one line: \(errors)")
        var info = stat()
        #expect(stat(fixture.root + "/secrets/ui-token", &info) == 0 && info.st_mode & S_IFMT == S_IFDIR)
    }

    @Test func aBadAuthSettingIsOneLineAndExit2() throws {
        let (status, _, errors) = try HomelabProcess.run(["ui"], environment: ["HOMELAB_UI_AUTH": "none"])
        #expect(status == 2)
        #expect(errors == "homelab: ui: HOMELAB_UI_AUTH: \"none\" is not write or all\n")
    }
}
