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

    @Test func aBadAuthSettingIsOneLineAndExit2() throws {
        let (status, _, errors) = try HomelabProcess.run(["ui"], environment: ["HOMELAB_UI_AUTH": "none"])
        #expect(status == 2)
        #expect(errors == "homelab: ui: HOMELAB_UI_AUTH: \"none\" is not write or all\n")
    }
}
