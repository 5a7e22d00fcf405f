#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport

/// `homelab agent` as an operator runs it: one line and exit 2 for a bad setting; on the VPS
/// (`--inbox ROOT/inbox`) a heartbeat for `homelab health agent`; elsewhere the spool's own
/// status, which `homelab health agent --spool` reads; SIGTERM ends it with 0.
@Suite(.serialized, .timeLimit(.minutes(5))) struct AgentCommandTests {
    @Test func aBadSettingIsOneLineNamingItAndExit2() throws {
        let fixture = try RuntimeFixture()
        let base = ["HOMELAB_NODE": "nas", "HOMELAB_AGENT_SPOOL": fixture.root + "/spool", "HOMELAB_SERVER": "", "HOMELAB_AGENT_TOKEN": ""]
        let cases: [([String], [String: String], String)] = [
            (["agent"], [:], "homelab: agent: HOMELAB_SERVER: not set: give the VPS's URL (http://HOST:PORT) or deliver with --inbox PATH\n"),
            (["agent", "--server", "https://vps"], ["HOMELAB_AGENT_TOKEN": "t"],
             "homelab: agent: --server: only http:// is spoken; put the server behind Tailscale or reach a TLS proxy through a local http:// one\n"),
            (["agent"], ["HOMELAB_SERVER": "http://vps:8080"],
             "homelab: agent: HOMELAB_AGENT_TOKEN: not set (nor HOMELAB_AGENT_TOKEN_FILE): the server needs this node's token (homelab agent-token nas on the VPS)\n"),
            (["agent", "--inbox", fixture.root + "/missing"], [:], "homelab: agent: --inbox: \(fixture.root)/missing is not a folder\n"),
            (["agent", "--inbox", fixture.inbox], ["HOMELAB_NODE": "a/b"], "homelab: agent: HOMELAB_NODE: \"a/b\" is not a valid name ([A-Za-z0-9][A-Za-z0-9._-]*)\n"),
            (["agent", "--bogus"], [:], "homelab: agent: unknown option '--bogus' (see homelab agent --help)\n"),
        ]
        for (arguments, extra, expected) in cases {
            let (status, _, errors) = try HomelabProcess.run(arguments, environment: fixture.environment.merging(base) { $1 }.merging(extra) { $1 })
            #expect(status == 2, "\(arguments)")
            #expect(errors == expected)
        }
        let (status, help, _) = try HomelabProcess.run(["agent", "--help"])
        #expect(status == 0 && help.hasPrefix("usage: homelab agent") && help.contains("HOMELAB_AGENT_SPOOL_MAX_MB"))
    }

    @Test func onTheVPSItDeliversIntoTheInboxAndIsHealthy() throws {
        let fixture = try RuntimeFixture()
        try FileManager.default.createDirectory(atPath: fixture.root + "/state", withIntermediateDirectories: false)  // a runtime root's
        let environment = fixture.environment.merging(["HOMELAB_NODE": "vps", "HOMELAB_AGENT_SPOOL": fixture.root + "/spool", "HOMELAB_AGENT_DOCKER": "0"]) { $1 }
        let (unknown, _, never) = try HomelabProcess.run(["health", "agent"], environment: environment)
        #expect(unknown == 1 && never.hasPrefix("homelab: health: agent: no heartbeat in "))
        let agent = try HomelabProcess(["agent", "--inbox", fixture.inbox], environment: environment)
        #expect(agent.waitUntil { _ in
            FileManager.default.fileExists(atPath: fixture.root + "/state/agent.json")
                && ((try? FileManager.default.contentsOfDirectory(atPath: fixture.inbox)) ?? []).filter { $0.hasSuffix(".json") }.count >= 2
        })
        let (healthy, _, said) = try HomelabProcess.run(["health", "agent"], environment: environment)
        #expect(healthy == 0, "\(said)")
        let (bySpool, _, _) = try HomelabProcess.run(["health", "agent", "--spool", fixture.root + "/spool"], environment: environment)
        #expect(bySpool == 0)
        #expect(agent.standardError.contains("agent: agent for node/vps: delivering to \(fixture.inbox) (inbox)"))
        kill(agent.pid, SIGTERM)
        #expect(agent.waitForExit(timeout: 5) == 0)
        let (stopped, _, stoppedSaid) = try HomelabProcess.run(["health", "agent"], environment: environment)
        #expect(stopped == 1 && stoppedSaid.hasPrefix("homelab: health: agent: stopped at "))
        // Everything delivered: only hidden files, and the agent's own inbox and rejected/.
        let left = try FileManager.default.contentsOfDirectory(atPath: fixture.root + "/spool").filter { !$0.hasPrefix(".") }.sorted()
        #expect(left == ["inbox", "rejected"])
    }
}
