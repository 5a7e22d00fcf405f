#if canImport(Glibc)
import Glibc
#endif
import Foundation
import FSWatch
import HomelabCore
@testable import Supervisor

/// A runtime root and a repository in a temporary folder, a supervisor running on a reactor
/// the test turns, and helpers that write what the observer would write.
final class SupervisorFixture {
    let base: String
    let root: RuntimeRoot
    let repo: String
    var inventory: String { repo + "/inventory" }
    let reactor: Reactor
    private(set) var supervisor: SupervisorService!

    init() throws {
        var template = Array("/dev/shm/supervisor.XXXXXX".utf8CString)
        base = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        root = RuntimeRoot(base + "/root")
        repo = base + "/repo"
        try root.create()
        reactor = try Reactor()
        try FileManager.default.createDirectory(atPath: inventory + "/resources", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: inventory + "/actions", withIntermediateDirectories: true)
        catalog("docker-start", #"{"argv":["docker","--context","{host}","start","{container}"],"params":{"host":"^[a-z0-9-]+$","container":"^[A-Za-z0-9_.-]+$"}}"#)
        catalog("compose-up", #"{"argv":["docker","--context","{host}","compose","-p","{project}","up","-d"],"params":{"host":"^[a-z0-9-]+$","project":"^[a-z0-9_-]+$"}}"#)
    }

    deinit {
        reactor.shutdown()
        try? FileManager.default.removeItem(atPath: base)
    }

    func start(settings: SupervisorService.Settings = SupervisorService.Settings()) throws {
        let configuration = try Configuration(environment: ["HOMELAB_ROOT": root.path, "HOMELAB_REPO": repo, "HOMELAB_HEARTBEAT_SECONDS": "3600"])
        supervisor = SupervisorService(configuration: configuration, logger: Logger(service: "supervisor", level: .warning), settings: settings)
        try supervisor.start(on: reactor)
        try turn(for: .milliseconds(20))
    }

    func catalog(_ name: String, _ json: String) {
        write(inventory + "/actions/\(name).json", json)
    }

    func desire(_ file: String, _ json: String) {
        write(inventory + "/resources/" + file, json)
    }

    static func container(_ name: String, state: String = "running", image: String = "app:1", stale: Int? = nil, on: String = "state") -> String {
        let host = name.split(separator: "/")[0], container = name.split(separator: "/")[1]
        return #"{"kind":"container","name":"\#(name)","spec":{"state":"\#(state)","image":"\#(image)"}"#
            + (stale.map { #","staleAfterSeconds":\#($0)"# } ?? "")
            + #","remediate":[{"on":"\#(on)","action":"docker-start","args":{"host":"\#(host)","container":"\#(container)"}},"#
            + #"{"on":"image","action":"compose-up","args":{"host":"\#(host)","project":"media"}},"#
            + #"{"on":"missing","action":"compose-up","args":{"host":"\#(host)","project":"media"}}]}"#
    }

    /// What the observer writes for `resource.observed`.
    func observe(_ subject: String, _ observed: String, lastSeen: Timestamp = .now(), seq: Int = 1) {
        let parsed = try! Subject.parse(subject).get()
        let path = root.worldFile(parsed)
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let text = #"{"kind":"\#(parsed.kind)","name":"\#(parsed.name)","observed":\#(observed),"lastSeen":"\#(lastSeen.iso8601Milliseconds)","source":"test","seq":\#(seq)}"#
        try! AtomicFile.write(text, to: path, durability: .none)
    }

    func forget(_ subject: String) { unlink(root.worldFile(try! Subject.parse(subject).get())) }

    func write(_ path: String, _ text: String) {
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try! AtomicFile.write(text, to: path, durability: .none)
    }

    func actions(_ state: RuntimeRoot.ActionState) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root.actions(state))) ?? [])
            .filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.map { String($0.dropLast(5)) }.sorted()
    }

    func action(_ state: RuntimeRoot.ActionState, _ id: String) -> [String: Any] {
        let data = FileManager.default.contents(atPath: root.actions(state) + "/" + id + ".json") ?? Data()
        return (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    func driftReport() -> [String: Any] {
        let data = FileManager.default.contents(atPath: root.driftReport) ?? Data()
        return (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    func drifts() -> [[String: Any]] { driftReport()["drift"] as? [[String: Any]] ?? [] }

    /// The events dropped into the inbox, as (type, subject).
    func inboxEvents() -> [(type: String, subject: String, data: [String: Any])] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: root.audit)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        return names.compactMap { name in
            guard let data = FileManager.default.contents(atPath: root.audit + "/" + name),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
            return (object["type"] as? String ?? "", object["subject"] as? String ?? "", object["data"] as? [String: Any] ?? [:])
        }
    }

    func turn(for duration: Duration) throws { try reactor.run(for: duration) }

    @discardableResult
    func turn(until condition: () -> Bool, timeout: Duration = .seconds(10)) throws -> Bool {
        try reactor.run(until: condition, timeout: timeout)
    }

    /// Runs git in the repository.
    func git(_ arguments: String...) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        process.arguments = ["-C", repo, "-c", "user.name=test", "-c", "user.email=test@example.invalid"] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        precondition(process.terminationStatus == 0, "git \(arguments) failed")
    }

    func gitHead() throws -> String {
        let process = Process()
        let pipe = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        process.arguments = ["-C", repo, "rev-parse", "HEAD"]
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
