#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport
import FSWatch
import HomelabCore
@testable import UI

/// `/api/world` from memory, in pages; `/api/events` seeking through a sparse index.
@Suite(.serialized, .timeLimit(.minutes(2))) struct ReadPathTests {
    private func writeWorld(_ root: RuntimeRoot, _ subjects: [String]) throws {
        for text in subjects {
            let subject = try Subject.parse(text).get()
            let path = root.worldFile(subject)
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try AtomicFile.write(#"{"kind":"\#(subject.kind)","name":"\#(subject.name)","observed":{}}"# + "\n", to: path, durability: .none)
        }
    }

    private func names(_ bytes: [UInt8]) -> [String] {
        ((try? JSONSerialization.jsonObject(with: Data(bytes))) as? [[String: Any]] ?? []).map { "\($0["kind"]!)/\($0["name"]!)" }
    }

    @Test func theWorldIsServedFromMemoryInNameOrder() throws {
        let folder = TemporaryFolder("reads")
        let root = RuntimeRoot(folder.path)
        try root.create()
        try writeWorld(root, ["node/b", "container/nas/x", "node/a", "container/nas/deep/y"])
        let cache = WorldCache(root: root)
        // Gone from disk without an event: still served, so no request reads the files.
        try FileManager.default.removeItem(atPath: root.world + "/node")
        #expect(names(cache.page(after: nil, limit: 10).bytes) == ["container/nas/deep/y", "container/nas/x", "node/a", "node/b"])
        // Events keep it current.
        cache.apply([WatchEvent(.directoryRemoved, root.world + "/node")])
        try writeWorld(root, ["host/z"])
        cache.apply([WatchEvent(.ready, root.worldFile(try Subject.parse("host/z").get())), WatchEvent(.removed, root.world + "/container/nas/x.json")])
        #expect(names(cache.page(after: nil, limit: 10).bytes) == ["container/nas/deep/y", "host/z"])
    }

    @Test func worldPagesFollowTheLinkHeaderToTheEnd() throws {
        let ui = try UIFixture()
        try writeWorld(ui.root, (0..<25).map { "node/n\(String(format: "%02d", $0))" })
        usleep(300_000)  // the watch
        var seen: [String] = []
        var path: String? = "/api/world?limit=10"
        var pages = 0
        while let next = path {
            let (status, response) = ui.request("GET", next)
            #expect(status == 200)
            let parts = response.components(separatedBy: "\r\n\r\n")
            seen += names(Array(parts.dropFirst().joined(separator: "\r\n\r\n").utf8))
            path = parts[0].split(separator: "\r\n").first { $0.hasPrefix("Link: <") }.map { String($0.dropFirst(7).prefix { $0 != ">" }) }
            pages += 1
        }
        #expect(pages == 3 && seen == (0..<25).map { "node/n\(String(format: "%02d", $0))" })
        #expect(ui.request("GET", "/api/world?limit=0").0 == 400)
        #expect(ui.request("GET", "/api/world?limit=10001").0 == 400)
    }

    @Test func theEventIndexSeeksWithinAFewLinesOfTheSeqAsked() throws {
        let ui = try UIFixture()
        ui.log(1...3000, segment: 1)
        ui.log(3001...6000, day: "2026-11-27", segment: 3001)
        let index = EventIndex(folder: ui.root.events)
        for after in [0, 1, 31, 32, 33, 1500, 2999, 3000, 3001, 4567, 5999, 6000, 7000, Int.max] {
            var seeking = index.cursor(after: after)
            var scanning = EventLogCursor(folder: ui.root.events, after: after)
            #expect(seeking.next(maxBytes: 4096, maxEvents: 5).map(\.seq) == scanning.next(maxBytes: 1 << 20, maxEvents: 5).map(\.seq), "after \(after)")
        }
        // Where it starts: at most `spacing` lines before the first event it returns.
        for after in [1500, 2999, 4567] {
            let cursor = index.cursor(after: after)
            let path = try #require(cursor.segmentPath)
            let bytes = try #require(FileContents.read(path))
            let skipped = bytes[cursor.byteOffset...].prefix { $0 != 0 }.split(separator: 0x0A).prefix { line in
                !String(decoding: line, as: UTF8.self).contains(#""seq":\#(after + 1),"#)
            }.count
            #expect(skipped <= EventIndex.spacing, "after \(after): \(skipped) lines read before it")
        }
        // The growing segment is indexed over what was appended since.
        ui.log(6001...6100, day: "2026-11-27", segment: 3001)
        var grown = index.cursor(after: 6050)
        #expect(grown.next(maxBytes: 4096, maxEvents: 2).map(\.seq) == [6051, 6052])
        let (status, response) = ui.request("GET", "/api/events?after=4000&limit=3")
        #expect(status == 200 && response.contains(#""seq":4001"#) && response.contains(#""seq":4003"#) && !response.contains(#""seq":4004"#))
    }
}
