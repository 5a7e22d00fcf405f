#if canImport(Glibc)
import Glibc
#endif
@testable import Agent
import FSWatch
import HomelabCore
import Observer
import TestSupport
import UI

/// An agent on a `ServiceFixture`'s reactor, with its spool and inbox in the fixture's folder.
final class AgentFixture: ServiceFixture {
    var agent: AgentService?
    var spool: String { base + "/spool" }
    var agentInbox: String { spool + "/inbox" }
    var agentRejected: String { spool + "/rejected" }
    /// Docker off unless a test brings a docker CLI; heartbeats out of the way unless asked for.
    var environment: [String: String]
    private var count = 0

    init() throws {
        environment = ["HOMELAB_NODE": "testnode", "HOMELAB_AGENT_SPOOL": "", "HOMELAB_AGENT_DOCKER": "0",
                       "HOMELAB_HEARTBEAT_SECONDS": "3600", "PATH": "/usr/bin:/bin"]
        try super.init("agent")
        environment["HOMELAB_AGENT_SPOOL"] = spool
        makeFolders(agentInbox)  // producers may drop before the agent first starts
    }

    deinit { agent?.shutdown() }

    func settings(_ flags: [String: String]) throws -> AgentSettings {
        try AgentSettings(environment: environment, flags: flags, hostName: "testnode")
    }

    /// Starts an agent delivering with `flags` (`--inbox` or `--server`).
    func start(_ flags: [String: String], adjust: (inout AgentSettings) -> Void = { _ in }) throws {
        var settings = try settings(flags)
        adjust(&settings)
        let agent = AgentService(settings: settings, logger: logger("agent"))
        try agent.start(on: reactor)
        self.agent = agent
    }

    /// The VPS side on this loop: an observer, and the UI on a loopback port with a token for
    /// `testnode` in `secrets/agents/`. The caller shuts them down.
    func startVPS() throws -> (observer: ObserverService, ui: UIService, token: String) {
        let token = "hla_" + Digest.randomHex(bytes: 24)
        try AtomicFile.write(token + "\n", to: root.agentToken("testnode"), mode: 0o600)
        let observer = ObserverService(configuration: configuration, logger: logger("observer"))
        try observer.start(on: reactor)
        var settings = UIService.Settings()
        settings.address = "127.0.0.1:0"
        settings.token = "operator-token"
        let ui = UIService(configuration: configuration, logger: logger("ui"), settings: settings)
        try ui.start(on: reactor)
        environment["HOMELAB_AGENT_TOKEN"] = token
        return (observer, ui, token)
    }

    func stop() {
        agent?.shutdown()
        agent = nil
    }

    /// Drops an event into the agent's inbox as producers must (a hidden name, then a rename);
    /// returns its id.
    @discardableResult
    func drop(subject: String = "service/testnode/web", source: String = "node/testnode", type: String = "resource.observed",
              data: String = #"{"state":"up"}"#, name: String? = nil) -> String {
        count += 1
        let id = "forwarded-\(count)-\(Digest.randomHex(bytes: 4))"
        let text = #"{"type":"\#(type)","source":"\#(source)","id":"\#(id)","subject":"\#(subject)","data":\#(data)}"#
        let file = name ?? id + ".json"
        writeFile(agentInbox + "/." + file + ".tmp", text)
        rename(agentInbox + "/." + file + ".tmp", agentInbox + "/" + file)
        return id
    }

    var counters: JSONObject { agent?.statusDetails["counters"]?.object ?? [:] }
    func counter(_ name: String) -> Int { counters[name]?.int ?? -1 }
    var depth: Int { agent?.statusDetails["spool"]?["depth"]?.int ?? -1 }

    /// The spool's files that are not hidden (segments, and the inbox and rejected folders).
    var visibleSpoolFiles: [String] {
        listDirectory(spool).map(\.name).filter { !$0.hasPrefix(".") && $0 != "inbox" && $0 != "rejected" }.sorted()
    }

    func files(_ folder: String) -> [String] { listDirectory(folder).map(\.name).filter { !$0.hasPrefix(".") }.sorted() }

    /// Every event of the observer's log, in order.
    func loggedEvents() -> [JSONObject] {
        var events: [JSONObject] = []
        for day in files(root.events).sorted() {
            for segment in files(root.events + "/" + day) where segment.hasSuffix(".jsonl") {
                let bytes = FileContents.read(root.events + "/" + day + "/" + segment) ?? []
                for line in bytes.split(separator: 0x0A) {
                    if let object = (try? JSONParser.parse(Array(line)))?.object { events.append(object) }
                }
            }
        }
        return events
    }
}
