@testable import Agent
import FSWatch
import HomelabCore
import Testing
import TestSupport

/// The agent's settings: defaults, and one clear refusal naming the setting.
@Suite(.timeLimit(.minutes(1))) struct AgentSettingsTests {
    private func refusal(_ environment: [String: String], flags: [String: String] = [:], host: String? = "nas.lan") -> String? {
        do {
            _ = try AgentSettings(environment: environment, flags: flags, hostName: host)
            return nil
        } catch {
            return error.variable
        }
    }

    @Test func defaults() throws {
        let folder = TemporaryFolder("agent")
        let token = folder.file("token", "  s3cret \n")
        let settings = try AgentSettings(environment: ["HOMELAB_SERVER": "http://100.64.0.1:8080/homelab/", "HOMELAB_AGENT_TOKEN_FILE": token],
                                         hostName: "NAS.example.lan")
        #expect(settings.node == "nas")
        #expect(settings.delivery == .server(ServerURL(host: "100.64.0.1", port: 8080, prefix: "/homelab")))
        #expect(settings.token?.value == "s3cret")
        #expect(settings.spool == "/var/lib/homelab-agent")
        #expect(settings.inbox == "/var/lib/homelab-agent/inbox")
        #expect(settings.rejected == "/var/lib/homelab-agent/rejected")
        #expect(settings.spoolMaxBytes == 256 << 20)
        #expect(settings.heartbeat == .seconds(15))
        #expect(settings.docker && settings.mounts.isEmpty)
        #expect(settings.runtimeRoot == nil)
        #expect(settings.allow == ["docker"] && settings.concurrency == 2)
        let listed = try AgentSettings(environment: ["HOMELAB_SERVER": "http://vps", "HOMELAB_AGENT_TOKEN": "t",
                                                     "HOMELAB_AGENT_ALLOW": " docker, /usr/local/bin/ledger ,docker", "HOMELAB_AGENT_CONCURRENCY": "4"], hostName: "nas")
        #expect(listed.allow == ["docker", "/usr/local/bin/ledger"] && listed.concurrency == 4)
    }

    @Test func eachBadSettingIsNamed() {
        let server = ["HOMELAB_SERVER": "http://vps:8080", "HOMELAB_AGENT_TOKEN": "t"]
        #expect(refusal([:]) == "HOMELAB_SERVER")
        #expect(refusal(["HOMELAB_SERVER": "https://vps", "HOMELAB_AGENT_TOKEN": "t"]) == "HOMELAB_SERVER")
        #expect(refusal(["HOMELAB_SERVER": "http://vps:8080"]) == "HOMELAB_AGENT_TOKEN")
        #expect(refusal(["HOMELAB_SERVER": "http://vps:8080", "HOMELAB_AGENT_TOKEN_FILE": "/nonexistent"]) == "HOMELAB_AGENT_TOKEN_FILE")
        #expect(refusal(server, flags: ["--inbox": "/tmp"]) == "--inbox")
        #expect(refusal([:], flags: ["--inbox": "/nonexistent"]) == "--inbox")
        #expect(refusal([:], flags: ["--server": "ftp://x"]) == "--server")
        #expect(refusal(server.merging(["HOMELAB_NODE": "a/b"]) { $1 }) == "HOMELAB_NODE")
        #expect(refusal(server, host: "-bad") == "HOMELAB_NODE")
        #expect(refusal(server.merging(["HOMELAB_AGENT_SPOOL_MAX_MB": "0"]) { $1 }) == "HOMELAB_AGENT_SPOOL_MAX_MB")
        #expect(refusal(server.merging(["HOMELAB_AGENT_MOUNTS": "/,data"]) { $1 }) == "HOMELAB_AGENT_MOUNTS")
        #expect(refusal(server.merging(["HOMELAB_AGENT_DOCKER": "yes"]) { $1 }) == "HOMELAB_AGENT_DOCKER")
        #expect(refusal(server.merging(["HOMELAB_HEARTBEAT_SECONDS": "0"]) { $1 }) == "HOMELAB_HEARTBEAT_SECONDS")
        #expect(refusal(server.merging(["HOMELAB_AGENT_SPOOL": "relative"]) { $1 }) == "HOMELAB_AGENT_SPOOL")
        #expect(refusal(["HOMELAB_AGENT_INBOX": "/tmp"], flags: ["--inbox": "/tmp"]) == "HOMELAB_AGENT_INBOX")
        #expect(refusal(server.merging(["HOMELAB_AGENT_ALLOW": " , "]) { $1 }) == "HOMELAB_AGENT_ALLOW")
        #expect(refusal(server.merging(["HOMELAB_AGENT_ALLOW": "docker,/usr/bin/"]) { $1 }) == "HOMELAB_AGENT_ALLOW")
        #expect(refusal(server.merging(["HOMELAB_AGENT_CONCURRENCY": "0"]) { $1 }) == "HOMELAB_AGENT_CONCURRENCY")
    }

    @Test func anInboxOfARuntimeRootIsThatRoot() throws {
        let folder = TemporaryFolder("agent")
        let root = RuntimeRoot(folder.path + "/root")
        try root.create()
        let settings = try AgentSettings(environment: ["HOMELAB_AGENT_SPOOL": folder.path + "/spool"], flags: ["--inbox": root.inbox + "/"], hostName: "vps")
        #expect(settings.delivery == .inbox(root.inbox))
        #expect(settings.runtimeRoot?.path == root.path)
    }

    @Test func serverURLs() throws {
        #expect(try ServerURL.parse("http://vps").get() == ServerURL(host: "vps", port: 80, prefix: ""))
        #expect(try ServerURL.parse("http://[fd7a::1]:8080/").get() == ServerURL(host: "fd7a::1", port: 8080, prefix: ""))
        #expect(try ServerURL.parse("http://vps:8080/a/b").get().eventsPath == "/a/b/api/events")
        #expect(try ServerURL.parse("http://vps:8080").get().hostHeader == "vps:8080")
        for bad in ["vps:8080", "http://", "http://vps:0", "http://vps:x", "http://u:p@vps", "http://vps/?q=1"] {
            #expect(throws: ServerURLError.self, "\(bad)") { try ServerURL.parse(bad).get() }
        }
    }
}
