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

    /// Lets go of the action: once it is in its final state, or given up.
    func release() {
        if let lock = lock.take() { lock.close() }
    }

    deinit { release() }
}
