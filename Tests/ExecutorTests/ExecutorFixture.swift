#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
import FSWatch
import HomelabCore
@testable import Executor

/// A runtime root and a catalog in a temporary folder, and an executor on a reactor the test turns.
final class ExecutorFixture {
    let base: String
    let root: RuntimeRoot
    let repo: String
    var catalogFolder: String { repo + "/inventory/actions" }
    let reactor: Reactor
    private(set) var executor: ExecutorService!

    init() throws {
        var template = Array("/dev/shm/executor.XXXXXX".utf8CString)
        base = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        root = RuntimeRoot(base + "/root")
        repo = base + "/repo"
        try root.create()
        reactor = try Reactor()
        try FileManager.default.createDirectory(atPath: repo + "/inventory/actions", withIntermediateDirectories: true)
    }

    deinit {
        executor?.shutdown()
        reactor.shutdown()
        try? FileManager.default.removeItem(atPath: base)
    }

    var configuration: Configuration {
        try! Configuration(environment: ["HOMELAB_ROOT": root.path, "HOMELAB_REPO": repo, "HOMELAB_HEARTBEAT_SECONDS": "3600"])
    }

    func start(_ settings: ExecutorService.Settings = ExecutorService.Settings()) throws {
        executor = ExecutorService(configuration: configuration, logger: Logger(service: "executor", level: .error), settings: settings)
        try executor.start(on: reactor)
    }

    func catalog(_ name: String, _ json: String) {
        try! json.write(toFile: catalogFolder + "/\(name).json", atomically: true, encoding: .utf8)
    }

    /// Renames an action file into approved/, as the UI or the supervisor would, after the
    /// proposal and approval the observer would have folded (unless `proposed` is false).
    func approve(_ id: String, action: String, args: [String: String], resource: String? = nil, extra: String = "", proposed: Bool = true) {
        if proposed { recordProposal(id, root: root) }
        let argsJSON = args.keys.sorted().map { key in "\"\(key)\":\(jsonString(args[key]!))" }.joined(separator: ",")
        let text = #"{"id":"\#(id)","action":"\#(action)","args":{\#(argsJSON)}"# + (resource.map { #","resource":"\#($0)""# } ?? "") + extra + "}"
        let temporary = root.actions(.approved) + "/.\(id).tmp"
        try! text.write(toFile: temporary, atomically: false, encoding: .utf8)
        rename(temporary, root.actions(.approved) + "/\(id).json")
    }

    func jsonString(_ text: String) -> String {
        String(decoding: JSONWriter.encode(.string(text)), as: UTF8.self)
    }

    func ids(_ state: RuntimeRoot.ActionState) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root.actions(state))) ?? [])
            .filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.map { String($0.dropLast(5)) }.sorted()
    }

    func result(_ state: RuntimeRoot.ActionState, _ id: String) -> [String: Any] {
        let data = FileManager.default.contents(atPath: root.actions(state) + "/\(id).json") ?? Data()
        let object = (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
        return object["result"] as? [String: Any] ?? [:]
    }

    func events() -> [(type: String, subject: String, data: [String: Any])] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: root.audit)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        return names.compactMap { name in
            guard let data = FileManager.default.contents(atPath: root.audit + "/" + name),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
            return (object["type"] as? String ?? "", object["subject"] as? String ?? "", object["data"] as? [String: Any] ?? [:])
        }
    }

    @discardableResult
    func turn(until condition: () -> Bool, timeout: Duration = .seconds(15)) throws -> Bool {
        try reactor.run(until: condition, timeout: timeout)
    }

    func turn(for duration: Duration) throws { try reactor.run(for: duration) }
}
