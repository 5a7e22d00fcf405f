#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// `world/` on disk: one file per resource (`RuntimeRoot.worldFile`) and `index.json`, each
/// written atomically. Files are not fsynced one by one: the log is the durable record, and
/// after a reboot the observer rebuilds the world from it.
///
/// A write is prepared on the loop (the bytes of each file, from the world as it is then) and
/// performed on the loop or on the commit thread (`BatchRetirer`) — never on both at once: the
/// loop waits for the thread's job before it writes itself, so its folder cache has one user
/// at a time.
final class WorldStore: @unchecked Sendable {
    let root: RuntimeRoot
    /// Folders known to exist, so a busy resource costs no `mkdir`.
    private var folders: Set<String> = []

    init(root: RuntimeRoot) { self.root = root }

    /// What could not be written: retried by the caller, never a reason to stop the log.
    struct Failures {
        var resources: [Subject: SystemError] = [:]
        var index: SystemError?
        var isEmpty: Bool { resources.isEmpty && index == nil }
    }

    /// The files of some resources as the world had them (nil: deleted), and the index.
    struct Writes: @unchecked Sendable {
        var files: [(subject: Subject, bytes: [UInt8]?)] = []
        var index: [UInt8] = []
    }

    /// What `perform` is to write for `subjects`, from `world` as it is now.
    func prepare(_ world: World, subjects: Set<Subject>) -> Writes {
        var writes = Writes(index: world.index.bytes)
        writes.files.reserveCapacity(subjects.count)
        for subject in subjects { writes.files.append((subject, world.resource(subject)?.fileBytes(subject))) }
        return writes
    }

    /// Writes (or deletes) the files of `subjects` as the world now has them, then the index.
    func write(_ world: World, subjects: Set<Subject>) -> Failures { perform(prepare(world, subjects: subjects)) }

    /// Writes prepared files, then the index. One resource that cannot be written (a full disk,
    /// a file in the way) does not keep the others from being written.
    func perform(_ writes: Writes) -> Failures {
        var failures = Failures()
        for (subject, bytes) in writes.files {
            let file = root.worldFile(subject)
            do throws(SystemError) {
                if let bytes {
                    try makeParents(of: file)
                    try AtomicFile.rewrite(bytes, to: file)
                } else {
                    try AtomicFile.remove(file)
                }
            } catch {
                failures.resources[subject] = error
                folders = folders.filter { !file.hasPrefix($0 + "/") }  // made again on the retry
            }
        }
        do throws(SystemError) {
            try AtomicFile.rewrite(writes.index, to: root.worldIndex)
        } catch {
            failures.index = error
        }
        return failures
    }

    /// Makes `world/` exactly `world`: every resource written, every other file removed.
    func replaceAll(with world: World) -> Failures {
        var keep: Set<String> = [root.worldIndex]
        var subjects: Set<Subject> = []
        for (kind, resources) in world.kinds {
            for name in resources.keys {
                let subject = Subject(kind: kind, name: name)
                subjects.insert(subject)
                keep.insert(root.worldFile(subject))
            }
        }
        let failures = write(world, subjects: subjects)
        removeFiles(under: root.world, except: keep)
        return failures
    }

    /// Reads every resource file into `world`; hidden temporaries left by a crash are removed.
    /// Returns how many resources were loaded, or nil if a file is not one of ours.
    func load(into world: World) -> Int? {
        var loaded = 0
        var intact = true
        forEachFile(under: root.world) { file, name in
            if name.hasPrefix(".") {
                if !name.hasSuffix(".spare") { unlink(file) }  // a crashed write's temporary
            } else if file != root.worldIndex {
                guard let (subject, resource) = WorldResource.read(file), root.worldFile(subject) == file else {
                    intact = false
                    return
                }
                world.load(subject, resource)
                loaded += 1
            }
        }
        return intact ? loaded : nil
    }

    private func makeParents(of file: String) throws(SystemError) {
        guard let slash = file.lastIndex(of: "/") else { return }
        let parent = String(file[..<slash])
        if folders.contains(parent) { return }
        var path = root.world
        for segment in parent.dropFirst(root.world.count + 1).split(separator: "/") {
            path += "/" + segment
            if folders.contains(path) { continue }
            if mkdir(path, 0o755) != 0 && (Errno.current != .fileExists || fileKind(path) != .directory) {
                throw SystemError("mkdir", Errno.current, subject: path)
            }
            folders.insert(path)
        }
    }

    /// Removes every file not in `keep`, and the spares of those it removes.
    private func removeFiles(under folder: String, except keep: Set<String>) {
        forEachFile(under: folder) { file, name in
            if name.hasPrefix(".") && name.hasSuffix(".spare") {
                let owner = String(file.dropLast(name.count)) + name.dropFirst().dropLast(".spare".count)
                if !keep.contains(owner) { unlink(file) }
            } else if !keep.contains(file) {
                unlink(file)
            }
        }
    }
}
