#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
import FSWatch
import HomelabCore
@testable import Executor

/// An executor on a `ServiceFixture`.
final class ExecutorFixture: ServiceFixture {
    private(set) var executor: ExecutorService!

    init() throws { try super.init("executor") }

    deinit { executor?.shutdown() }

    func start(_ settings: ExecutorService.Settings = ExecutorService.Settings()) throws {
        executor = ExecutorService(configuration: configuration, logger: logger("executor"), settings: settings)
        try executor.start(on: reactor)
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

    func result(_ state: RuntimeRoot.ActionState, _ id: String) -> [String: Any] {
        action(state, id)["result"] as? [String: Any] ?? [:]
    }

    func events() -> [(type: String, subject: String, data: [String: Any])] { auditEvents() }
}
