#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// `actions/{pending,approved,…}/ID.json` as the supervisor sees it: which state each action
/// is in, and for pending ones which resource they are for. Kept current from the folders'
/// change events; a file seen in two states (mid-rename) settles on the later event.
struct ActionQueue {
    typealias State = RuntimeRoot.ActionState

    let root: RuntimeRoot
    private(set) var states: [String: State] = [:]
    /// Pending action → its resource, and the other way round.
    private(set) var pendingResources: [String: String] = [:]
    private(set) var pendingByResource: [String: Set<String>] = [:]

    init(root: RuntimeRoot) { self.root = root }

    /// Applies one change under `actions/`.
    mutating func note(_ path: String, present: Bool) {
        guard let (id, state) = root.actionLocation(path) else { return }
        if present {
            states[id] = state
            setPending(id, resource: state == .pending ? ActionFile.read(root.action(id, in: state))?.resource : nil)
        } else if states[id] == state {
            states[id] = nil
            setPending(id, resource: nil)
        }
    }

    private mutating func setPending(_ id: String, resource: String?) {
        if let old = pendingResources[id] {
            pendingByResource[old]?.remove(id)
            if pendingByResource[old]?.isEmpty == true { pendingByResource[old] = nil }
        }
        pendingResources[id] = resource
        if let resource { pendingByResource[resource, default: []].insert(id) }
    }

    /// When a finished action finished: its result's `finishedAt`, else the file's mtime.
    func finishedAt(_ id: String) -> Timestamp? {
        guard let state = states[id], state == .done || state == .failed else { return nil }
        let path = root.action(id, in: state)
        if let text = ActionFile.read(path)?.result?.finishedAt, let time = Timestamp(rfc3339: text) { return time }
        return Timestamp.modified(path)
    }
}
