#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport
@testable import FSWatch
@testable import HomelabCore

private func mode(_ path: String) -> mode_t {
    var info = stat()
    stat(path, &info)
    return info.st_mode & 0o7777
}

@Suite(.timeLimit(.minutes(2))) struct AtomicFileTests {
    @Test func writesTheBytesAndLeavesNoTemporaryBehind() throws {
        let temporary = TemporaryFolder("core")
        let folder = temporary.path
        let path = folder + "/state.json"
        try AtomicFile.write("{\"v\":1}", to: path)
        try AtomicFile.write("{\"v\":2}", to: path, mode: 0o600)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "{\"v\":2}")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["state.json"])
        #expect(mode(path) == 0o600)
    }

    @Test func aReaderNeverSeesHalfAFile() throws {
        let temporary = TemporaryFolder("core")
        let folder = temporary.path
        let path = folder + "/big.json"
        let small = [UInt8](repeating: UInt8(ascii: "a"), count: 10)
        let large = [UInt8](repeating: UInt8(ascii: "b"), count: 1 << 20)
        try AtomicFile.write(small, to: path, durability: .none)
        let writer = Thread {
            for i in 0..<50 { try? AtomicFile.write(i % 2 == 0 ? large : small, to: path, durability: .none) }
        }
        writer.start()
        for _ in 0..<200 {
            let bytes = [UInt8](FileManager.default.contents(atPath: path) ?? Data())
            #expect(bytes == small || bytes == large, "a reader saw \(bytes.count) bytes")
        }
    }

    @Test func rewriteSwapsASpareInsteadOfAllocatingAnInode() throws {
        let temporary = TemporaryFolder("core")
        let folder = temporary.path
        let path = folder + "/index.json"
        func inode(_ path: String) -> ino_t {
            var info = stat()
            stat(path, &info)
            return info.st_ino
        }
        try AtomicFile.rewrite(Array("first, longer".utf8), to: path)
        try AtomicFile.rewrite(Array("second".utf8), to: path)
        let inodes = [inode(path), inode(folder + "/.index.json.spare")]
        try AtomicFile.rewrite(Array("third".utf8), to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "third")
        #expect(try String(contentsOfFile: folder + "/.index.json.spare", encoding: .utf8) == "second")
        #expect([inode(folder + "/.index.json.spare"), inode(path)] == inodes, "the two inodes swap places")
        try AtomicFile.remove(path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty)
    }

    @Test func aFailedWriteSaysWhereAndWhyAndLeavesNothing() {
        #expect {
            try AtomicFile.write("x", to: "/nonexistent-folder/state.json")
        } throws: { error in
            "\(error)".hasPrefix("open /nonexistent-folder/.state.json.") && "\(error)".hasSuffix("(ENOENT)")
        }
    }
}

@Suite(.timeLimit(.minutes(2))) struct ConfigurationTests {
    @Test func defaultsServeTheDockerImage() throws {
        let configuration = try Configuration(environment: [:])
        #expect(configuration.root.path == "/opt/homelab")
        #expect(configuration.repo == "/repo")
        #expect(configuration.inventory == "/repo/inventory")
        #expect(configuration.uiAddress == "0.0.0.0:8080")
        #expect(configuration.heartbeatSeconds == 15)
        #expect(configuration.logLevel == .info)
    }

    @Test func inventoryFollowsTheRepo() throws {
        let configuration = try Configuration(environment: ["HOMELAB_REPO": "/srv/repo", "HOMELAB_ROOT": "/tmp/x"])
        #expect(configuration.inventory == "/srv/repo/inventory")
        #expect(configuration.root.inbox == "/tmp/x/inbox")
    }

    @Test(arguments: [
        ("HOMELAB_HEARTBEAT_SECONDS", "soon"), ("HOMELAB_HEARTBEAT_SECONDS", "0"), ("HOMELAB_LOG_LEVEL", "loud"),
    ])
    func invalidSettingsNameTheVariable(variable: String, value: String) {
        #expect {
            _ = try Configuration(environment: [variable: value])
        } throws: { error in
            "\(error)".hasPrefix(variable + ": \"\(value)\"")
        }
    }
}

@Suite(.timeLimit(.minutes(2))) struct TimestampAndLoggerTests {
    @Test func formatsUTC() {
        let time = Timestamp(secondsSinceEpoch: 1_795_705_200, nanoseconds: 42_000_000)
        #expect(time.iso8601 == "2026-11-26T15:00:00Z")
        #expect(time.iso8601Milliseconds == "2026-11-26T15:00:00.042Z")
        #expect(time.day == "2026-11-26")
    }

    @Test func logFileRotatesAtItsCap() throws {
        let temporary = TemporaryFolder("core")
        let folder = temporary.path
        let path = folder + "/observer.log"
        let logger = Logger(service: "observer", level: .info, file: path, maxBytes: 2_000, mirrorToStandardError: false)
        for i in 0..<100 { logger.info("batch \(i) accepted 10 events") }
        logger.debug("not at info level")
        let current = try String(contentsOfFile: path, encoding: .utf8)
        let rotated = try String(contentsOfFile: path + ".1", encoding: .utf8)
        #expect(current.utf8.count <= 2_000 && rotated.utf8.count <= 2_000)
        #expect(current.hasSuffix("INFO observer: batch 99 accepted 10 events\n"))
        #expect(!current.contains("not at info level"))
    }
}
