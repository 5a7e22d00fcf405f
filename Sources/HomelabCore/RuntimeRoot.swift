#if canImport(Glibc)
import Glibc
#endif
import FSWatch

/// The runtime root's layout (SPEC §3): every path a service reads or writes comes from here.
public struct RuntimeRoot: Sendable {
    public let path: String

    public init(_ path: String) {
        var trimmed = path
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.path = trimmed
    }

    /// The states an action file moves through, each a folder under `actions/`.
    public enum ActionState: String, CaseIterable, Sendable {
        case pending, approved, running, done, failed, rejected, superseded
    }

    public var inbox: String { path + "/inbox" }
    public var rejected: String { path + "/rejected" }
    public var events: String { path + "/events" }
    public var world: String { path + "/world" }
    public var worldIndex: String { world + "/index.json" }
    public var state: String { path + "/state" }
    public var observerCheckpoint: String { state + "/observer_checkpoint.json" }
    public var driftReport: String { state + "/drift.json" }
    public var actions: String { path + "/actions" }
    public var logs: String { path + "/logs" }
    public var actionLogs: String { logs + "/actions" }
    public var secrets: String { path + "/secrets" }
    public var uiToken: String { secrets + "/ui-token" }

    public func actions(_ state: ActionState) -> String { actions + "/" + state.rawValue }
    public func serviceState(_ service: String) -> String { state + "/\(service).json" }
    public func serviceLog(_ service: String) -> String { logs + "/\(service).log" }
    /// `events/YYYY-MM-DD`, the log folder of one UTC day.
    public func eventDay(_ day: String) -> String { events + "/" + day }

    /// Every folder of the layout with its mode: secrets are the operator's alone.
    public var folders: [(path: String, mode: mode_t)] {
        var list: [(String, mode_t)] = [
            (path, 0o755), (inbox, 0o775), (rejected, 0o755), (events, 0o755), (world, 0o755),
            (state, 0o755), (actions, 0o755), (logs, 0o755), (actionLogs, 0o755), (secrets, 0o700),
        ]
        for state in ActionState.allCases { list.append((actions(state), 0o775)) }
        return list
    }

    /// Creates whatever part of the layout is missing; existing folders are left as they are.
    public func create() throws(SystemError) {
        for (folder, mode) in folders {
            let result = mkdir(folder, mode)
            if result != 0 {
                let errno = Errno.current
                if errno != .fileExists { throw SystemError("mkdir", errno, subject: folder) }
            } else {
                chmod(folder, mode)  // mkdir's mode is filtered by the umask
            }
        }
    }
}
