#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// `world/` on disk: one file per resource at `KIND/NAME.json` (NAME's `/` become folders)
/// and `index.json`, each written atomically. Files are not fsynced one by one: the log is
/// the durable record, and after a reboot the observer rebuilds the world from it.
struct WorldStore {
    let folder: String
    /// Folders known to exist, so a busy resource costs no `mkdir`.
    private var folders: Set<String> = []

    init(folder: String) { self.folder = folder }

    func path(_ key: World.Key) -> String { folder + "/" + key.kind + "/" + key.name + ".json" }

    /// Writes (or deletes) the files of `keys` as the world now has them, then the index.
    mutating func write(_ world: World, keys: Set<World.Key>) throws(SystemError) {
        for key in keys {
            if let resource = world.resource(key) {
                let file = path(key)
                try makeParents(of: file)
                try AtomicFile.rewrite(World.fileBytes(key, resource), to: file)
            } else {
                try AtomicFile.remove(path(key))
            }
        }
        try AtomicFile.rewrite(world.indexBytes, to: folder + "/index.json")
    }

    /// Makes `world/` exactly `world`: every resource written, every other file removed.
    mutating func replaceAll(with world: World) throws(SystemError) {
        var keep: Set<String> = [folder + "/index.json"]
        var keys: Set<World.Key> = []
        for (kind, resources) in world.kinds {
            for name in resources.keys {
                let key = World.Key(kind: kind, name: name)
                keys.insert(key)
                keep.insert(path(key))
            }
        }
        try write(world, keys: keys)
        removeFiles(under: folder, except: keep)
    }

    /// Reads every resource file into `world`; hidden temporaries left by a crash are removed.
    /// Returns how many resources were loaded, or nil if a file is not one of ours.
    func load(into world: World) -> Int? {
        var loaded = 0
        var intact = true
        walk(folder) { file, name in
            if name.hasPrefix(".") {
                if !name.hasSuffix(".spare") { unlink(file) }  // a crashed write's temporary
            } else if file != folder + "/index.json" {
                guard let bytes = FileContents.read(file), let (key, resource) = World.parseFile(bytes), path(key) == file
                else {
                    intact = false
                    return
                }
                world.load(key, resource)
                loaded += 1
            }
        }
        return intact ? loaded : nil
    }

    /// The index as last written: (seq, generatedAt).
    func readIndex() -> (Int, String?)? {
        guard let index = FileContents.object(folder + "/index.json"), let seq = index["seq"]?.int
        else { return nil }
        return (seq, index["generatedAt"]?.string)
    }

    private mutating func makeParents(of file: String) throws(SystemError) {
        guard let slash = file.lastIndex(of: "/") else { return }
        let parent = String(file[..<slash])
        if folders.contains(parent) { return }
        var path = folder
        for segment in parent.dropFirst(folder.count + 1).split(separator: "/") {
            path += "/" + segment
            if folders.contains(path) { continue }
            if mkdir(path, 0o755) != 0 && Errno.current != .fileExists {
                throw SystemError("mkdir", Errno.current, subject: path)
            }
            folders.insert(path)
        }
    }

    /// Removes every file not in `keep`, and the spares of those it removes.
    private func removeFiles(under root: String, except keep: Set<String>) {
        walk(root) { file, name in
            if name.hasPrefix(".") && name.hasSuffix(".spare") {
                let owner = String(file.dropLast(name.count)) + name.dropFirst().dropLast(".spare".count)
                if !keep.contains(owner) { unlink(file) }
            } else if !keep.contains(file) {
                unlink(file)
            }
        }
    }

    /// Calls `body(path, name)` for every non-folder under `root`, depth first.
    private func walk(_ root: String, _ body: (String, String) -> Void) {
        for entry in listDirectory(root) {
            let path = root + "/" + entry.name
            if entry.kind == .directory { walk(path, body) } else { body(path, entry.name) }
        }
    }
}

/// `state/observer_checkpoint.json`: the last seq folded into `world/`, and the boot it was
/// written in. A checkpoint from another boot is not trusted (world files are not fsynced),
/// nor is a missing one: either way the world is rebuilt from the log.
struct Checkpoint: Equatable {
    var seq: Int
    var bootID: String

    static func read(_ path: String) -> Checkpoint? {
        guard let object = FileContents.object(path), let seq = object["seq"]?.int, let boot = object["bootId"]?.string
        else { return nil }
        return Checkpoint(seq: seq, bootID: boot)
    }

    func write(_ path: String, at time: Timestamp) throws(SystemError) {
        let record: JSONValue = .object(["seq": .int(seq), "bootId": .string(bootID), "writtenAt": .string(time.iso8601Milliseconds)])
        try AtomicFile.rewrite(JSONWriter.encode(record) + [0x0A], to: path)
    }

}
