#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// An executor's hold on one action: an exclusive `flock` on its file, which travels with
/// the file through its renames. Of two executors only the one holding the lock moves the
/// action; a starting executor tells an action another one runs (locked) from one whose
/// executor died (unlocked: the kernel dropped the lock with the process).
final class ActionClaim {
    let id: String
    private var lock: FileDescriptor?

    private init(id: String, lock: consuming FileDescriptor) {
        self.id = id
        self.lock = consume lock
    }

    /// Locks `approved/ID.json` and renames it into `running/`; nil if another executor got it
    /// (or it is gone).
    static func claim(_ id: String, root: RuntimeRoot) -> ActionClaim? {
        guard let lock = lockFile(root.action(id, in: .approved)) else { return nil }
        guard rename(root.action(id, in: .approved), root.action(id, in: .running)) == 0 else {
            lock.close()
            return nil
        }
        return ActionClaim(id: id, lock: lock)
    }

    /// Locks `running/ID.json` left by an executor that stopped; nil if a live one holds it.
    static func takeOver(_ id: String, root: RuntimeRoot) -> ActionClaim? {
        guard let lock = lockFile(root.action(id, in: .running)) else { return nil }
        return ActionClaim(id: id, lock: lock)
    }

    private static func lockFile(_ path: String) -> FileDescriptor? {
        guard let file = try? FileDescriptor.open(path, O_RDONLY) else { return nil }
        guard flock(file.rawValue, LOCK_EX | LOCK_NB) == 0 else {
            file.close()
            return nil
        }
        return file
    }

    /// Puts the action in its one final state, by construction: the file with its result
    /// replaces `running/ID.json` (written under a hidden name, fsynced and locked before the
    /// rename, so the lock never lapses), then one rename moves it to `done/` or `failed/`.
    /// A `kill -9` anywhere leaves it either in `running/` — with or without its result,
    /// which recovery tells apart — or in its final folder, never in two.
    func finish(_ file: ActionFile, in state: RuntimeRoot.ActionState, root: RuntimeRoot) throws(SystemError) {
        let running = root.action(id, in: .running)
        let staged = root.actions(.running) + "/." + id + ".json.result"
        let fd = try FileDescriptor.open(staged, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644)
        do throws(SystemError) {
            try fd.writeAll(file.bytes)
            try fd.sync()
            try systemCall("flock", staged) { flock(fd.rawValue, LOCK_EX | LOCK_NB) }
            try AtomicFile.rename(staged, to: running)
        } catch {
            fd.close()
            unlink(staged)
            throw error
        }
        release()
        lock = consume fd
        try AtomicFile.rename(running, to: root.action(id, in: state))
        try AtomicFile.syncFolder(root.actions(state))
        try AtomicFile.syncFolder(root.actions(.running))
    }

    /// Lets go of the action: once it is in its final state, or given up.
    func release() {
        if let lock = lock.take() { lock.close() }
    }

    deinit { release() }
}
