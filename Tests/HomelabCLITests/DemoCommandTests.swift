#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// `homelab demo` as an operator meets it: the whole loop on a fresh root, with the example
/// inventory of the repository; and `status` and `health` read what it leaves.
@Suite(.timeLimit(.minutes(5))) struct DemoCommandTests {
    static let inventory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../examples/inventory").standardized.path

    private func names(_ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }
    }

    private func object(_ path: String) -> [String: Any]? {
        FileManager.default.contents(atPath: path).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
    }

    @Test func driftIsProposedApprovedRunAndHealedThenCtrlCStopsEverything() throws {
        let fixture = try RuntimeFixture()
        let environment = fixture.environment.merging([
            "HOMELAB_INVENTORY": Self.inventory, "HOMELAB_UI_ADDR": "127.0.0.1:0", "HOMELAB_UI_TOKEN": "",
        ]) { $1 }
        let demo = try HomelabProcess(["demo", "--drift-every", "0.3"], environment: environment)
        #expect(demo.waitUntil { $0.standardOutput.contains("token:") })
        let token = try #require(FileManager.default.contents(atPath: fixture.root + "/secrets/ui-token"))
        #expect(demo.standardOutput.contains("token:        \(String(decoding: token, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))"))

        // A drift every 0.3 s can supersede a proposal before it is approved (the same container
        // drifting again another way): approve whichever is pending, until one is taken.
        let pending = fixture.root + "/actions/pending"
        var taken: (id: String, resource: String)?
        var refusals: [String] = []
        for _ in 0..<20 where taken == nil {
            #expect(demo.waitUntil { _ in !self.names(pending).isEmpty })
            guard let file = names(pending).first, let action = object(pending + "/" + file),
                  let resource = action["resource"] as? String else { continue }
            let id = String(file.dropLast(5))
            let (approved, said, refused) = try HomelabProcess.run(["approve", id], environment: environment)
            if approved == 0 { taken = (id, resource) } else { refusals.append(said + refused) }
        }
        let (id, resource) = try #require(taken, "no proposal could be approved: \(refusals)")
        #expect(demo.waitUntil { $0.standardError.contains("proposed \(id): ") })
        #expect(demo.waitUntil { _ in FileManager.default.fileExists(atPath: fixture.root + "/actions/done/\(id).json") })
        let done = try #require(object(fixture.root + "/actions/done/\(id).json"))
        #expect((done["result"] as? [String: Any])?["exitCode"] as? Int == 0)
        #expect(demo.waitUntil { $0.standardError.contains("simulated fix: \(resource) is back to its desired state after \(id)") })

        // The log shows the heal: after the proposal, the resource reported as desired (the
        // approval and the success events may land on either side of it).
        let desired = try #require(desiredSpec(resource))
        #expect(demo.waitUntil { _ in
            let lines = fixture.logLines()
            guard let proposal = lines.firstIndex(where: { $0["subject"] as? String == "action/\(id)" && $0["type"] as? String == "action.proposed" }) else { return false }
            return lines[proposal...].contains { line in
                line["type"] as? String == "resource.observed" && line["subject"] as? String == resource
                    && line["data"] as? [String: String] == desired
            }
        })

        let (statusCode, status, _) = try HomelabProcess.run(["status"], environment: environment)
        #expect(statusCode == 0)
        #expect(status.contains("services  observer up, supervisor up, executor up, ui up"), "\(status)")
        #expect(status.contains("done 1"))
        #expect(status.contains("\nnodes     "), "\(status)")
        let (healthy, _, _) = try HomelabProcess.run(["health", "executor"], environment: environment)
        #expect(healthy == 0)

        let children = try childPIDs(of: demo.pid)
        #expect(children.count == 4)
        kill(demo.pid, SIGINT)
        #expect(demo.waitForExit(timeout: 5) == 0)
        #expect(demo.standardError.contains("SIGINT received: stopping"))
        for pid in children { #expect(kill(pid, 0) == -1 && errno == ESRCH, "service \(pid) outlived the demo") }

        // Stopped services say so at once, not when their heartbeat has aged out.
        let (afterStop, _, stopSaid) = try HomelabProcess.run(["health", "ui"], environment: environment)
        #expect(afterStop == 1)
        #expect(stopSaid.hasPrefix("homelab: health: ui: stopped at "), "\(stopSaid)")
        let (_, statusAfter, _) = try HomelabProcess.run(["status"], environment: environment)
        #expect(statusAfter.contains("services  observer DOWN, supervisor DOWN, executor DOWN, ui DOWN"), "\(statusAfter)")
    }

    @Test func aServiceThatCannotStartStopsTheDemoWithItsReason() throws {
        let fixture = try RuntimeFixture()
        let taken = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(taken) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(taken, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(taken, $0, &length) } }
        #expect(listen(taken, 1) == 0)
        let port = UInt16(bigEndian: address.sin_port)
        let demo = try HomelabProcess(["demo"], environment: fixture.environment.merging([
            "HOMELAB_INVENTORY": Self.inventory, "HOMELAB_UI_ADDR": "127.0.0.1:\(port)",
        ]) { $1 })
        #expect(demo.waitForExit(timeout: 10) == 1)
        #expect(demo.standardError.contains("ui ended on its own (exited(1)); see \(fixture.root)/logs/ui.log"), "\(demo.standardError)")
        #expect(demo.standardError.contains("ui is gone: stopping"))
    }

    @Test func withoutAnInventoryTheDemoSaysWhereItLookedAndExits2() throws {
        let fixture = try RuntimeFixture()
        let (status, _, errors) = try HomelabProcess.run(["demo"], environment: fixture.environment.merging(["HOMELAB_INVENTORY": fixture.root + "/nowhere"]) { $1 })
        #expect(status == 2)
        #expect(errors == "homelab: demo: no inventory at \(fixture.root)/nowhere (run it from the repository, or set HOMELAB_INVENTORY)\n")
    }

    @Test func healthIsFreshHeartbeatsOnly() throws {
        let fixture = try RuntimeFixture()
        try FileManager.default.createDirectory(atPath: fixture.root + "/state", withIntermediateDirectories: true)
        let environment = fixture.environment.merging(["HOMELAB_HEARTBEAT_SECONDS": "15"]) { $1 }
        func beat(_ service: String, secondsAgo: Double) throws {
            let at = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-secondsAgo))
            try Data(#"{"heartbeatAt":"\#(at)"}"#.utf8).write(to: URL(fileURLWithPath: fixture.root + "/state/\(service).json"))
        }
        try beat("observer", secondsAgo: 10)
        try beat("ui", secondsAgo: 60)
        #expect(try HomelabProcess.run(["health", "observer"], environment: environment).0 == 0)
        let (stale, _, staleSaid) = try HomelabProcess.run(["health", "ui"], environment: environment)
        #expect(stale == 1)
        #expect(staleSaid.hasPrefix("homelab: health: ui: last heartbeat 6") && staleSaid.hasSuffix(" s ago (stale after 45 s)\n"), "\(staleSaid)")
        let (never, _, neverSaid) = try HomelabProcess.run(["health", "executor"], environment: environment)
        #expect(never == 1)
        #expect(neverSaid == "homelab: health: executor: no heartbeat in \(fixture.root)/state/executor.json\n")
        let (unknown, _, unknownSaid) = try HomelabProcess.run(["health", "nginx"], environment: environment)
        #expect(unknown == 2)
        #expect(unknownSaid == "homelab: health: which service? one of observer, supervisor, executor, ui, collector, agent, notifier\n")
    }

    @Test func statusOfAFolderThatIsNoRuntimeRootIsOneLine() throws {
        let (status, _, errors) = try HomelabProcess.run(["status"], environment: ["HOMELAB_ROOT": "/proc/self"])
        #expect(status == 1)
        #expect(errors == "homelab: status: /proc/self is not a runtime root (no state/ folder)\n")
    }

    private func desiredSpec(_ resource: String) -> [String: String]? {
        let folder = Self.inventory + "/resources"
        for case let relative as String in FileManager.default.enumerator(atPath: folder)?.allObjects ?? [] where relative.hasSuffix(".json") {
            guard let desired = object(folder + "/" + relative), let kind = desired["kind"] as? String, let name = desired["name"] as? String,
                  "\(kind)/\(name)" == resource, let spec = desired["spec"] as? [String: String] else { continue }
            return spec
        }
        return nil
    }

    private func childPIDs(of pid: Int32) throws -> [Int32] {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        return text.split(separator: " ").compactMap { Int32($0) }
    }
}
