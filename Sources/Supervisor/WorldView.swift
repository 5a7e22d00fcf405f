import FSWatch
import HomelabCore

/// The supervisor's copy of `world/`: each resource's observed properties and last-seen
/// time, kept current from the files' change events. Actions (`world/action/`) are the
/// observer's audit trail, not resources, and are left out.
struct WorldView {
    let root: RuntimeRoot
    private(set) var resources: [Subject: Observed] = [:]
    private(set) var seq = 0

    init(root: RuntimeRoot) { self.root = root }

    /// Reads every resource file.
    mutating func loadAll() {
        resources.removeAll()
        let actions = root.worldFolder(kind: "action")
        forEachFile(under: root.world, enter: { path, name in !name.hasPrefix(".") && path != actions }) { path, name in
            if !name.hasPrefix(".") && path != root.worldIndex { _ = update(path) }
        }
        readIndex()
    }

    /// Applies a change to one file of `world/`; returns the resource it concerns, if any.
    mutating func update(_ path: String) -> Subject? {
        if path == root.worldIndex {
            readIndex()
            return nil
        }
        guard let subject = root.worldSubject(path), subject.kind != "action" else { return nil }
        if let (_, resource) = WorldResource.read(path) {
            resources[subject] = Observed(properties: resource.observedObject, lastSeen: Timestamp(rfc3339: resource.lastSeen))
        } else if fileKind(path) == nil {
            resources[subject] = nil
        }
        return subject
    }

    private mutating func readIndex() {
        if let index = WorldIndex.read(root.worldIndex) { seq = index.seq }
    }
}
