#if canImport(Glibc)
import Glibc
#endif
import Foundation
import FSWatch
import HomelabCore

/// A runtime root and a repository in a temporary folder, and a reactor the test turns: where
/// a service under test runs in-process. Each service's fixture adds what its tests need.
open class ServiceFixture {
    public let folder: TemporaryFolder
    public var base: String { folder.path }
    public let root: RuntimeRoot
    public let repo: String
    public var inventory: String { repo + "/inventory" }
    public let reactor: Reactor

    public init(_ label: String) throws {
        folder = TemporaryFolder(label)
        root = RuntimeRoot(folder.path + "/root")
        repo = folder.path + "/repo"
        try root.create()
        reactor = try Reactor()
        makeFolders(inventory + "/actions")
        makeFolders(inventory + "/resources")
    }

    deinit { reactor.shutdown() }

    /// SPEC §2's settings for this root and repository; heartbeats out of the way.
    public var configuration: Configuration {
        try! Configuration(environment: ["HOMELAB_ROOT": root.path, "HOMELAB_REPO": repo, "HOMELAB_HEARTBEAT_SECONDS": "3600"])
    }

    /// A quiet logger for the service under test.
    public func logger(_ service: String, level: LogLevel = .error) -> Logger {
        Logger(service: service, level: level, mirrorToStandardError: false)
    }

    /// Writes the catalog entry `inventory/actions/NAME.json`.
    public func catalog(_ name: String, _ json: String) {
        try! json.write(toFile: inventory + "/actions/\(name).json", atomically: true, encoding: .utf8)
    }

    /// Turns the loop until `condition` holds; false after `timeout`.
    @discardableResult
    public func turn(until condition: () -> Bool, timeout: Duration = .seconds(15)) throws -> Bool {
        try reactor.run(until: condition, timeout: timeout)
    }

    public func turn(for duration: Duration) throws { try reactor.run(for: duration) }

    /// The IDs in one state's folder, sorted.
    public func ids(_ state: RuntimeRoot.ActionState) -> [String] { root.actionIDs(in: state) }

    /// An action file as Foundation sees it.
    public func action(_ state: RuntimeRoot.ActionState, _ id: String) -> [String: Any] {
        let data = FileManager.default.contents(atPath: root.action(id, in: state)) ?? Data()
        return (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    /// The events the services dropped into `audit/`, by file name.
    public func auditEvents() -> [(type: String, subject: String, data: [String: Any])] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: root.audit)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        return names.compactMap { name in
            guard let data = FileManager.default.contents(atPath: root.audit + "/" + name),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
            return (object["type"] as? String ?? "", object["subject"] as? String ?? "", object["data"] as? [String: Any] ?? [:])
        }
    }
}
