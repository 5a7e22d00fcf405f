#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Whether any process is left in process group `group` (zombies aside: a killed grandchild
/// waits for init to reap it, and counts as gone).
public func groupAlive(_ group: pid_t) -> Bool {
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
        guard Int32(entry) != nil, let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8) else { continue }
        // pid (comm) state ppid pgrp ...: split after the last ')'.
        guard let close = stat.lastIndex(of: ")") else { continue }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        if fields.count > 2, fields[0] != "Z", Int32(fields[2]) == group { return true }
    }
    return false
}

/// This process's open descriptors.
public func openDescriptorCount() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
}
