#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport

/// A temporary runtime root and the producer's side of it: files staged on the same
/// filesystem and renamed into the inbox, as SPEC §4.1 asks of producers.
final class RuntimeFixture: @unchecked Sendable {
    private let folder: TemporaryFolder
    let root: String
    let stage: String

    /// On tmpfs unless the test needs the real disk (fdatasync, ext4 behaviour).
    init(onDisk: Bool = false) throws {
        folder = TemporaryFolder("homelab-e2e", onDisk: onDisk)
        let base = folder.path
        root = base + "/root"
        stage = base + "/stage"
        for folder in [root, stage, root + "/inbox", root + "/audit"] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
    }

    /// Lets a service running as `uid` (the image's `homelab` user) own the runtime root.
    func handOver(toUID uid: uid_t) {
        chmod((root as NSString).deletingLastPathComponent, 0o755)  // mkdtemp made it 0700
        chown(root, uid, uid)
        chown(inbox, uid, uid)
    }

    var environment: [String: String] { ["HOMELAB_ROOT": root, "HOMELAB_HEARTBEAT_SECONDS": "1"] }
    var inbox: String { root + "/inbox" }
    var world: String { root + "/world" }
    var checkpoint: String { root + "/state/observer_checkpoint.json" }

    func observer(launcher: [String] = []) throws -> HomelabProcess {
        try HomelabProcess(["observer"], environment: environment, launcher: launcher)
    }

    /// Writes `text` under a hidden name in the stage folder, then renames it into the inbox
    /// (or into `audit/`, the services' own inbox, with `audit`).
    func drop(_ name: String, _ text: String, audit: Bool = false) {
        let temporary = stage + "/." + name
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        precondition(fd >= 0, "open \(temporary)")
        let bytes = Array(text.utf8)
        precondition(write(fd, bytes, bytes.count) == bytes.count)
        close(fd)
        precondition(rename(temporary, (audit ? root + "/audit" : inbox) + "/" + name) == 0, "rename into inbox")
    }

    static func observed(id: String, subject: String, data: String) -> String {
        #"{"specversion":"1.0","id":"\#(id)","type":"resource.observed","source":"node/test","subject":"\#(subject)","data":\#(data)}"#
    }

    /// Every line of the log, in file order.
    func logLines() -> [[String: Any]] {
        let events = root + "/events"
        var lines: [[String: Any]] = []
        let days = ((try? FileManager.default.contentsOfDirectory(atPath: events)) ?? []).sorted()
        for day in days {
            let segments = ((try? FileManager.default.contentsOfDirectory(atPath: events + "/" + day)) ?? []).filter { $0.hasSuffix(".jsonl") }.sorted()
            for segment in segments {
                let text = (try? String(contentsOfFile: events + "/" + day + "/" + segment, encoding: .utf8)) ?? ""
                for line in text.split(separator: "\n") {
                    if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] { lines.append(object) }
                }
            }
        }
        return lines
    }

    func checkpointSeq() -> Int? {
        guard let data = FileManager.default.contents(atPath: checkpoint),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return object["seq"] as? Int
    }

    /// Hidden files under world/ other than the spares `AtomicFile.rewrite` keeps.
    func worldTemporaries() -> [String] {
        let all = (FileManager.default.enumerator(atPath: world)?.allObjects as? [String]) ?? []
        return all.filter {
            let name = ($0 as NSString).lastPathComponent
            return name.hasPrefix(".") && !name.hasSuffix(".spare")
        }
    }

    func inboxNames() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: inbox)) ?? []).filter { !$0.hasPrefix(".") }
    }

    /// Every file under world/ (relative path → bytes), hidden spares and temporaries aside.
    func worldFiles() -> [String: Data] {
        var files: [String: Data] = [:]
        guard let walker = FileManager.default.enumerator(atPath: world) else { return files }
        while let relative = walker.nextObject() as? String {
            var isFolder: ObjCBool = false
            let path = world + "/" + relative
            if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue,
               !(relative as NSString).lastPathComponent.hasPrefix(".") {
                files[relative] = FileManager.default.contents(atPath: path)
            }
        }
        return files
    }

    /// Waits (polling, on the test's side) until the observer has taken everything in the
    /// inbox and folded `seq` events.
    @discardableResult
    func waitForIdle(seq: Int, timeout: TimeInterval = 60) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if inboxNames().isEmpty && checkpointSeq() == seq { return true }
            usleep(20_000)
        }
        return false
    }
}
