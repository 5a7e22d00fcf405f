#if canImport(Glibc)
import Glibc
#endif
import CLinuxShim

/// Starting a program and learning of its end through the loop: fork and exec in the shim
/// (new process group, SIGKILL when its parent dies, output on one pipe), a pidfd that turns
/// readable when it exits, and signals to its whole group.
public enum ChildProcess {
    public struct Started: ~Copyable {
        public let pid: pid_t
        /// Our end of the child's stdout and stderr (non-blocking).
        public let output: FileDescriptor
    }

    /// Starts `argv` (argv[0] a path) with `environment` in `folder`.
    /// The corresponding C functions are `pipe2`, `fork` and `execve`.
    public static func spawn(_ argv: [String], environment: [String: String], folder: String) throws(SystemError) -> Started {
        var ends: [Int32] = [-1, -1]
        try systemCall("pipe2") { CLinuxShim_output_pipe(&ends) }
        let ours = FileDescriptor(owning: ends[0]), theirs = FileDescriptor(owning: ends[1])
        let arguments = argv.map { strdup($0) } + [nil]
        let variables = environment.keys.sorted().map { strdup("\($0)=\(environment[$0]!)") } + [nil]
        defer {
            for pointer in arguments { free(pointer) }
            for pointer in variables { free(pointer) }
        }
        let pid = arguments.withUnsafeBufferPointer { args in
            variables.withUnsafeBufferPointer { vars in
                CLinuxShim_spawn(argv[0], args.baseAddress, vars.baseAddress, folder, theirs.rawValue)
            }
        }
        let errno = Errno.current
        theirs.close()
        guard pid > 0 else {
            ours.close()
            throw SystemError("execve", errno, subject: argv[0])
        }
        return Started(pid: pid, output: ours)
    }

    /// A descriptor that turns readable when `pid` exits. The corresponding C function is `pidfd_open`.
    public static func exitDescriptor(_ pid: pid_t) throws(SystemError) -> FileDescriptor {
        FileDescriptor(owning: try systemCall("pidfd_open", "pid \(pid)") { CLinuxShim_pidfd_open(pid) })
    }

    /// How a child ended.
    public enum Exit: Equatable, Sendable {
        case exited(Int32)
        case signaled(Int32)
    }

    /// Reaps `pid` if it has ended. The corresponding C function is `waitpid` with `WNOHANG`.
    public static func reap(_ pid: pid_t) -> Exit? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        guard result == pid else { return nil }
        let signal = status & 0x7f
        if signal == 0 { return .exited((status >> 8) & 0xff) }
        return .signaled(signal)
    }

    /// Signals the whole process group `group` (the child and whatever it started).
    /// ESRCH — nobody left — is not an error. The corresponding C function is `kill`.
    public static func signalGroup(_ group: pid_t, _ signal: Int32) {
        _ = kill(-group, signal)
    }

    /// The first executable `name` on `path` (a name with a `/` is taken as it is).
    public static func locate(_ name: String, path: String) -> String? {
        if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
        for folder in path.split(separator: ":") {
            let candidate = "\(folder)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}
