#if canImport(Glibc)
import Glibc
#endif
import Foundation
import FSWatch
import HomelabCore
import TestSupport
@testable import Supervisor

/// A supervisor on a `ServiceFixture`, and helpers that write what the observer would write.
final class SupervisorFixture: ServiceFixture {
    private(set) var supervisor: SupervisorService!

    init() throws {
        try super.init("supervisor")
        catalog("docker-start", #"{"argv":["docker","--context","{host}","start","{container}"],"params":{"host":"^[a-z0-9-]+$","container":"^[A-Za-z0-9_.-]+$"}}"#)
        catalog("compose-up", #"{"argv":["docker","--context","{host}","compose","-p","{project}","up","-d"],"params":{"host":"^[a-z0-9-]+$","project":"^[a-z0-9_-]+$"}}"#)
    }

    func start(settings: SupervisorService.Settings = SupervisorService.Settings()) throws {
        supervisor = SupervisorService(configuration: configuration, logger: logger("supervisor", level: .warning), settings: settings)
        try supervisor.start(on: reactor)
        try turn(for: .milliseconds(20))
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

    func actions(_ state: RuntimeRoot.ActionState) -> [String] { ids(state) }

    func driftReport() -> [String: Any] {
        let data = FileManager.default.contents(atPath: root.driftReport) ?? Data()
        return (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    func drifts() -> [[String: Any]] { driftReport()["drift"] as? [[String: Any]] ?? [] }

    /// The events the supervisor dropped, as (type, subject, data).
    func inboxEvents() -> [(type: String, subject: String, data: [String: Any])] { auditEvents() }

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
