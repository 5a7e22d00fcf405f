import FSWatch
import HomelabCore

/// The `lastSeen` that heartbeats thinned out of the log gave their nodes (docs/observer.md,
/// "Heartbeats"), kept in `state/thinned_heartbeats.json` so that a rebuild — the checkpoint
/// deleted, or one from an earlier boot — gives world/ the same bytes it had: the fold of the
/// log, then each node's newer `lastSeen` where the log has said nothing of the node since
/// (the node's `seq` is still the one recorded here). Written before the world files that
/// show it, so world/ is never ahead of it.
struct ThinnedHeartbeats: Equatable {
    struct Entry: Equatable {
        var lastSeen: String
        /// The node's `seq` when its `lastSeen` was thinned: a logged event since makes it moot.
        var seq: Int
    }

    var entries: [Subject: Entry] = [:]

    /// What the world holds now: every node whose `lastSeen` came from a thinned heartbeat.
    init(of world: World) {
        for subject in world.loggedLastSeen.keys {
            if let node = world.resource(subject) { entries[subject] = Entry(lastSeen: node.lastSeen, seq: node.seq) }
        }
    }

    static func read(_ path: String) -> ThinnedHeartbeats? {
        guard let object = FileContents.object(path) else { return nil }
        var read = ThinnedHeartbeats()
        for (name, value) in object {
            guard case .success(let subject) = Subject.parse(name), let lastSeen = value["lastSeen"]?.string, let seq = value["seq"]?.int else { continue }
            read.entries[subject] = Entry(lastSeen: lastSeen, seq: seq)
        }
        return read
    }

    func write(_ path: String) throws(SystemError) {
        var object: JSONObject = [:]
        for (subject, entry) in entries {
            object[subject.description] = .object(["lastSeen": .string(entry.lastSeen), "seq": .int(entry.seq)])
        }
        try AtomicFile.write(JSONWriter.encode(.object(object)) + [0x0A], to: path, durability: .none)
    }

    /// After a rebuild: the nodes the log has not spoken of since get their thinned `lastSeen` back.
    func restore(into world: World) {
        for (subject, entry) in entries {
            guard let node = world.resource(subject), node.seq == entry.seq, node.lastSeen != entry.lastSeen else { continue }
            _ = world.applyThinnedHeartbeat(subject, time: entry.lastSeen)
        }
    }

    /// None: no node's `lastSeen` is ahead of the log.
    init() {}
}
