#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// The supervisor's copy of `world/`: each resource's observed properties and last-seen
/// time, kept current from the files' change events. Actions (`world/action/`) are the
/// observer's audit trail, not resources, and are left out.
struct WorldView {
    let folder: String
    private(set) var resources: [Subject: Observed] = [:]
    private(set) var seq = 0

    init(folder: String) { self.folder = folder }

    /// Reads every resource file.
    mutating func loadAll() {
        resources.removeAll()
        func walk(_ path: String) {
            for entry in listDirectory(path) where !entry.name.hasPrefix(".") {
                let child = path + "/" + entry.name
                if entry.kind == .directory { walk(child) } else { _ = update(child) }
            }
        }
        for entry in listDirectory(folder) where entry.kind == .directory && entry.name != "action" && !entry.name.hasPrefix(".") {
            walk(folder + "/" + entry.name)
        }
        readIndex()
    }

    /// Applies a change to one file of `world/`; returns the resource it concerns, if any.
    mutating func update(_ path: String) -> Subject? {
        if path == folder + "/index.json" {
            readIndex()
            return nil
        }
        guard path.hasPrefix(folder + "/"), path.hasSuffix(".json") else { return nil }
        let relative = path.dropFirst(folder.count + 1).dropLast(5)
        guard case .success(let subject) = Subject.parse(String(relative)), subject.kind != "action" else { return nil }
        if let object = FileContents.object(path) {
            resources[subject] = Observed(properties: object["observed"]?.object ?? [:],
                                          lastSeen: object["lastSeen"]?.string.flatMap { Timestamp(rfc3339: $0) })
        } else if fileKind(path) == nil {
            resources[subject] = nil
        }
        return subject
    }

    private mutating func readIndex() {
        if let seq = FileContents.object(folder + "/index.json")?["seq"]?.int { self.seq = seq }
    }
}
