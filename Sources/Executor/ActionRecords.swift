import FSWatch
import HomelabCore

/// The audit trail as the executor consults it before running anything: `world/action/ID.json`,
/// folded by the observer from the services' events. It tells whether an action was proposed,
/// approved and already started, and wakes the executor when a record it waits for changes
/// (an auto-approved proposal lands in `approved/` a moment before its events are folded).
final class ActionRecords {
    private let root: RuntimeRoot
    private let changed: (String) -> Void
    private weak var reactor: Reactor?
    private var worldWatch: DirectoryWatch?
    private var actionsWatch: DirectoryWatch?

    init(root: RuntimeRoot, reactor: Reactor, changed: @escaping (String) -> Void) throws(SystemError) {
        self.root = root
        self.changed = changed
        self.reactor = reactor
        try watch()
    }

    func history(_ id: String) -> ActionHistory? { ActionHistory.read(id, root: root) }

    private var folder: String { root.worldFolder(kind: "action") }

    /// `world/action/` exists from the first action on; until then, `world/` is watched for it.
    private func watch() throws(SystemError) {
        guard let reactor else { return }
        if fileKind(folder) == .directory {
            worldWatch?.close()
            worldWatch = nil
            actionsWatch = try DirectoryWatch(reactor: reactor, root: folder) { [unowned self] events in
                for event in events where event.kind == .ready {
                    if let subject = root.worldSubject(event.path), subject.kind == "action" { changed(subject.name) }
                }
            }
        } else if worldWatch == nil {
            worldWatch = try DirectoryWatch(reactor: reactor, root: root.world) { [unowned self] events in
                if events.contains(where: { $0.kind == .directoryAdded && $0.path == folder }) { try? watch() }
            }
            if fileKind(folder) == .directory { try watch() }  // made while the watch was set up
        }
    }
}
