#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

@Suite(.timeLimit(.minutes(5))) struct SupervisorCommandTests {
    private func inventory() throws -> String {
        let folder = NSTemporaryDirectory() + "inventory-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: folder + "/resources/nas", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder + "/actions", withIntermediateDirectories: true)
        try #"{"argv":["docker","start","{container}"],"params":{"container":"^[a-z]+$"}}"#.write(toFile: folder + "/actions/docker-start.json", atomically: true, encoding: .utf8)
        try #"{"kind":"container","name":"nas/jellyfin","spec":{"state":"running"},"remediate":[{"on":"state","action":"docker-start","args":{"container":"jellyfin"}}]}"#
            .write(toFile: folder + "/resources/nas/jellyfin.json", atomically: true, encoding: .utf8)
        return folder
    }

    @Test func checkIsSilentAndExits0WhenClean() throws {
        let folder = try inventory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // Run by a node's agent: the node a param's value names, or a fixed one.
        try #"{"argv":["docker","start","{container}"],"params":{"host":"^[a-z]+$","container":"^[a-z]+$"},"runsOn":"{host}"}"#
            .write(toFile: folder + "/actions/node-start.json", atomically: true, encoding: .utf8)
        try #"{"argv":["docker","ps"],"runsOn":"nas"}"#.write(toFile: folder + "/actions/nas-ps.json", atomically: true, encoding: .utf8)
        let (status, output, errors) = try HomelabProcess.run(["check", folder])
        #expect(status == 0 && output.isEmpty && errors.isEmpty)
    }

    @Test func checkPrintsFileAndReasonForEachProblemAndExits1() throws {
        let folder = try inventory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try #"{"argv":["rm","-rf","{path}"]}"#.write(toFile: folder + "/actions/wipe.json", atomically: true, encoding: .utf8)
        try #"{"kind":"container","name":"nas/x","spec":{},"remediate":[{"on":"missing","action":"docker-start","args":{"container":"X; reboot"}}]}"#
            .write(toFile: folder + "/resources/nas/x.json", atomically: true, encoding: .utf8)
        try "{".write(toFile: folder + "/resources/broken.json", atomically: true, encoding: .utf8)
        try #"{"argv":["docker","ps"],"params":{"host":"^[a-z]+$"},"runsOn":"{node}"}"#.write(toFile: folder + "/actions/away.json", atomically: true, encoding: .utf8)
        try #"{"argv":["docker","ps"],"runsOn":"../etc"}"#.write(toFile: folder + "/actions/elsewhere.json", atomically: true, encoding: .utf8)
        let (status, output, _) = try HomelabProcess.run(["check"], environment: ["HOMELAB_INVENTORY": folder])
        #expect(status == 1)
        #expect(output.split(separator: "\n").map(String.init) == [
            "\(folder)/actions/away.json: \"runsOn\" uses {node}, which is not a declared param",
            "\(folder)/actions/elsewhere.json: \"runsOn\": \"../etc\" is neither {PARAM} nor a valid node name ([A-Za-z0-9][A-Za-z0-9._-]*)",
            "\(folder)/actions/wipe.json: argv uses {path}, which is not a declared param",
            "\(folder)/resources/broken.json: not JSON: expected a key string, found end of input at byte 1",
            "\(folder)/resources/nas/x.json: remediate[0]: arg \"container\" = \"X; reboot\" does not match ^[a-z]+$",
        ])
    }

    @Test func theSupervisorRefusesToStartWithoutAnInventory() throws {
        let root = NSTemporaryDirectory() + "sv-root-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (status, _, errors) = try HomelabProcess.run(["supervisor"], environment: ["HOMELAB_ROOT": root, "HOMELAB_REPO": "/nonexistent/repo"])
        #expect(status == 1)
        #expect(errors.contains("the inventory folder /nonexistent/repo/inventory does not exist"))
    }
}
