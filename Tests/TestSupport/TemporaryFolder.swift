#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A fresh folder, removed with everything in it when the last reference goes. On tmpfs
/// unless a test needs the real disk (fdatasync, ext4 behaviour).
public final class TemporaryFolder: Sendable {
    public let path: String

    public init(_ label: String = "homelab", onDisk: Bool = false) {
        var template = Array("\(onDisk ? "/var/tmp" : "/dev/shm")/\(label).XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `text` to `name` in the folder; returns its path.
    @discardableResult
    public func file(_ name: String, _ text: String = "{}") -> String {
        let full = path + "/" + name
        writeFile(full, text)
        return full
    }
}

/// Writes `text` to `path` (created or truncated), without Foundation's temporaries.
public func writeFile(_ path: String, _ text: String = "{}") {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    precondition(fd >= 0, "open \(path): errno \(errno)")
    _ = text.withCString { write(fd, $0, strlen($0)) }
    close(fd)
}

public func makeFolder(_ path: String) {
    precondition(mkdir(path, 0o755) == 0, "mkdir \(path): errno \(errno)")
}
