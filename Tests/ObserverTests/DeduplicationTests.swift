#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport
import FSWatch
import HomelabCore
@testable import Observer

/// `(source, id)` identifies an event (SPEC §4.1): a repeat is counted, never logged again —
/// within a batch, across batches, across restarts — and `posted/` batches go the same way.
@Suite(.serialized, .timeLimit(.minutes(1))) struct DeduplicationTests {
    private final class Fixture: ServiceFixture {
        var observer: ObserverService?

        init() throws { try super.init("dedup") }

        deinit { observer?.shutdown() }

        func start() throws {
            observer?.shutdown()
            let started = ObserverService(configuration: configuration, logger: logger("observer"))
            try started.start(on: reactor)
            observer = started
        }

        func drop(_ name: String, id: String, source: String = "node/nas", folder: String? = nil) {
            let folder = folder ?? root.inbox
            writeFile(folder + "/.\(name).tmp", #"{"type":"custom.thing","source":"\#(source)","id":"\#(id)","data":{"name":"\#(name)"}}"#)
            rename(folder + "/.\(name).tmp", folder + "/\(name).json")
        }

        /// Every (source, id) in the log, in order, and whether seq has no gap.
        func ledger() -> (keys: [String], gapFree: Bool) {
            var cursor = EventLogCursor(folder: root.events, after: 0)
            var keys: [String] = [], seqs: [Int] = []
            while case let events = cursor.next(maxBytes: 1 << 20), !events.isEmpty {
                keys += events.map { $0.source + " " + $0.id }
                seqs += events.map(\.seq)
            }
            return (keys, seqs == Array(1...max(1, seqs.count)).prefix(seqs.count).map { $0 })
        }

        var duplicates: Int { ObserverCounters(observer?.statusDetails["counters"]?.object ?? [:]).duplicates }
        var inboxEmpty: Bool { visible(root.inbox).isEmpty && visible(root.posted).isEmpty }
    }

    @Test func aRepeatIsCountedNotLogged() throws {
        let fixture = try Fixture()
        try fixture.start()
        fixture.drop("a", id: "1")
        fixture.drop("b", id: "1")                      // same pair in the same wake-up, most likely
        fixture.drop("c", id: "1", source: "node/pi")   // another source: another event
        #expect(try fixture.turn { fixture.ledger().keys.count == 2 && fixture.inboxEmpty })
        fixture.drop("d", id: "1")                      // a later batch
        #expect(try fixture.turn { fixture.duplicates == 2 && fixture.inboxEmpty })
        #expect(fixture.ledger().keys.sorted() == ["node/nas 1", "node/pi 1"])

        // A restart (and a world rebuild) reads the window back from the log.
        unlink(fixture.root.observerCheckpoint)
        try fixture.start()
        fixture.drop("e", id: "1")
        fixture.drop("f", id: "2")
        #expect(try fixture.turn { fixture.ledger().keys.count == 3 && fixture.inboxEmpty })
        #expect(fixture.ledger().keys.sorted() == ["node/nas 1", "node/nas 2", "node/pi 1"])
        #expect(fixture.duplicates == 1)
        #expect(fixture.ledger().gapFree)
    }

    /// A file identical to one already logged has the same default id (its digest).
    @Test func anIdenticalFileWithoutIdIsARepeat() throws {
        let fixture = try Fixture()
        try fixture.start()
        let text = #"{"type":"custom.thing","source":"script/backup","data":{"ok":true}}"#
        writeFile(fixture.root.inbox + "/one.json", text)
        #expect(try fixture.turn { fixture.ledger().keys.count == 1 && fixture.inboxEmpty })
        writeFile(fixture.root.inbox + "/two.json", text)
        #expect(try fixture.turn { fixture.duplicates == 1 && fixture.inboxEmpty })
        #expect(fixture.ledger().keys.count == 1)
    }

    /// `posted/`: one JSON Lines file per HTTP request; each line an event, a bad line kept
    /// in `rejected/` with its reason, the file removed once its lines are durable.
    @Test func postedBatchesAreLoggedLineByLine() throws {
        let fixture = try Fixture()
        try fixture.start()
        fixture.drop("a", id: "1")
        #expect(try fixture.turn { fixture.ledger().keys.count == 1 })
        let lines = [
            #"{"specversion":"1.0","type":"custom.thing","source":"node/nas","id":"1"}"#,   // a repeat of the inbox's
            #"{"specversion":"1.0","type":"custom.thing","source":"node/nas","id":"2"}"#,
            #"{"specversion":"1.0","type":"action.approved","source":"node/nas","id":"3","subject":"action/x"}"#,
            #"{"specversion":"1.0","type":"custom.thing","source":"node/nas","id":"4"}"#,
        ]
        try AtomicFile.write(lines.joined(separator: "\n") + "\n", to: fixture.root.posted + "/100-x.jsonl", durability: .none)
        #expect(try fixture.turn { fixture.ledger().keys.count == 3 && fixture.inboxEmpty })
        #expect(fixture.ledger().keys == ["node/nas 1", "node/nas 2", "node/nas 4"])
        #expect(fixture.duplicates == 1)
        let reasons = listDirectory(fixture.root.rejected).filter { $0.name.hasSuffix(".reason.json") }
        #expect(reasons.map(\.name) == ["100-x.jsonl.line3.json.reason.json"])
    }

    /// The start-up read takes `source`, `id` and the day straight from lines the observer
    /// wrote, and leaves anything with an escape to the parser.
    @Test func theWindowsFastReadAgreesWithTheParser() {
        func fields(_ id: String, source: String = "node/nas") -> (String, String, String)? {
            let event = LoggedEvent(seq: 7, id: id, source: source, type: "custom.thing", subject: "x", time: "2026-11-29T23:59:59Z",
                                    receivedAt: "2026-11-30T05:41:32.123Z", data: .object(["a": .string("\"}")]),
                                    extensions: [("traceparent", .string("00-1"))])
            let line = Array(event.line.dropLast())
            return line.withUnsafeBufferPointer { SeenEvents.fields(of: $0) }.map {
                (String(decoding: line[$0.source], as: UTF8.self), String(decoding: line[$0.id], as: UTF8.self), String(decoding: line[$0.day], as: UTF8.self))
            }
        }
        #expect(fields("e-1")! == ("node/nas", "e-1", "2026-11-30"))
        #expect(fields("with \"quote\"") == nil)
        #expect(fields("x", source: "a\\b") == nil)
        #expect(SeenEvents.key(source: "ab", id: "c") != SeenEvents.key(source: "a", id: "bc"))
    }

    /// The window against a plain model: every key of the last `minKeys`, or of the last
    /// `minDays` days, is known; older ones are forgotten in order — through growth of the ring
    /// and index, and deletions that shift probe chains back.
    @Test func theWindowKeepsWhatItMustAndForgetsInOrder() {
        var seen = SeenEvents(minKeys: 300, minDays: 2)
        var generator = SeededGenerator(seed: fuzzBaseSeed())
        var model: [(key: SeenEvents.Key, day: Int)] = []
        var oldest = 0  // model[oldest...] is what the window must hold
        var day = 100
        for step in 0..<20_000 {
            if step % 1500 == 0 { day += 1 }
            // Few distinct low bits: long probe chains, so deletions must shift them right.
            let key = SeenEvents.Key(high: generator.next(), low: generator.next() & 0x3FFF)
            seen.insert(key, day: day)
            model.append((key, day))
            while model.count - oldest > 300, model[oldest].day < day - 2 { oldest += 1 }
            if step % 997 == 0 {
                #expect(seen.count == model.count - oldest)
                #expect(model[oldest...].allSatisfy { seen.contains($0.key) })
            }
        }
        #expect(seen.count == model.count - oldest)
        #expect(model[oldest...].allSatisfy { seen.contains($0.key) })
        #expect(model[..<oldest].filter { seen.contains($0.key) }.count < 5)  // forgotten (bar a key drawn twice)
        seen.insert(model[oldest].key, day: day)  // already known: nothing changes
        #expect(seen.count == model.count - oldest)
    }
}

/// A folder's entries that readers see: hidden ones (`.done/`, temporaries) left out.
func visible(_ folder: String) -> [DirectoryEntry] { listDirectory(folder).filter { !$0.name.hasPrefix(".") } }
