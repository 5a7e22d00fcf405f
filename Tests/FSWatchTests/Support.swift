#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import FSWatch

/// A fresh folder on tmpfs (these tests exercise inotify, not the disk), removed afterwards.
final class TemporaryFolder: Sendable {
    let path: String

    init(_ label: String = "fswatch") {
        var template = Array("/dev/shm/\(label).XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String, _ text: String = "{}") -> String {
        let full = path + "/" + name
        writeFile(full, text)
        return full
    }
}

func writeFile(_ path: String, _ text: String = "{}") {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    precondition(fd >= 0, "open \(path): \(Errno.current)")
    _ = text.withCString { write(fd, $0, strlen($0)) }
    close(fd)
}

func makeFolder(_ path: String) {
    precondition(mkdir(path, 0o755) == 0, "mkdir \(path): \(Errno.current)")
}

@discardableResult
func runLoop(_ reactor: Reactor, timeout: Duration = .seconds(10), until done: () -> Bool) throws -> Bool {
    try reactor.run(until: done, timeout: timeout)
}

func runLoop(_ reactor: Reactor, for duration: Duration) throws { try reactor.run(for: duration) }

/// Everything a watch reported, in order.
final class Recorder {
    var events: [WatchEvent] = []
    var batches = 0

    func record(_ batch: [WatchEvent]) {
        batches += 1
        events.append(contentsOf: batch)
    }

    func count(_ kind: WatchEvent.Kind, _ path: String) -> Int {
        events.filter { $0.kind == kind && $0.path == path }.count
    }

    func paths(_ kind: WatchEvent.Kind) -> Set<String> {
        Set(events.filter { $0.kind == kind }.map(\.path))
    }
}

func openDescriptorCount() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
}
