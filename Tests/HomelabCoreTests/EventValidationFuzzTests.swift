import Testing
import TestSupport
@testable import HomelabCore

/// Damaged events never crash validation, and an accepted one always becomes a log line
/// that reads back as the same event.
@Suite(.timeLimit(.minutes(3))) struct EventValidationFuzzTests {
    static let events: [String] = [
        #"{"specversion":"1.0","id":"nas-1","type":"resource.observed","source":"node/nas","time":"2026-11-26T15:00:00Z","subject":"container/nas/jellyfin","data":{"state":"exited","image":"jellyfin/jellyfin:10.9.7"}}"#,
        #"{"type":"resource.snapshot","source":"node/nas","subject":"container/nas","data":{"resources":{"nas/a":{"state":"running"},"nas/b":{}}}}"#,
        #"{"type":"resource.removed","source":"node/nas","subject":"container/nas/a","ext1":"x"}"#,
        #"{"type":"node.heartbeat","source":"node/pi","subject":"node/pi","time":"2026-11-26T15:00:00.123+01:00"}"#,
        #"{"type":"action.approved","source":"ui","subject":"action/a1","data":{"actor":"me"}}"#,
        #"{"type":"com.example.upload","source":"/cam","subject":"mynewfile.jpg","dataschema":"https://x/s","datacontenttype":"image/jpeg","data_base64":"/9j/4AAQ"}"#,
    ]
    static let names = ["id", "type", "source", "subject", "time", "data", "data_base64", "dataschema", "datacontenttype",
                        "specversion", "seq", "receivedat", "receivedAt", "ext", "Ext", "my-ext", "a1", ""]
    static let values = [#""x""#, "1", "true", "null", "{}", "[]", #""""#, #""aGk=""#, #""node/x""#, #"{"resources":{}}"#, #""2026-11-26T15:00:00Z""#]

    /// A valid event with one member added at the front (a name and value from the lists above).
    static func withMember(_ event: String, _ random: inout SeededGenerator) -> [UInt8] {
        let member = "\"\(names.randomElement(using: &random)!)\":\(values.randomElement(using: &random)!),"
        return Array(("{" + member + event.dropFirst()).utf8)
    }

    @Test func mutatedEventsAreRefusedOrLoggedFaithfully() throws {
        let base = fuzzBaseSeed()
        var accepted = 0
        for index in 0..<20_000 {
            let seed = base &+ UInt64(index)
            var random = SeededGenerator(seed: seed)
            let event = Self.events.randomElement(using: &random)!
            let input = Bool.random(using: &random) ? Self.withMember(event, &random) : mutate(Array(event.utf8), &random)
            guard case .success(let inbox) = EventValidation.validate(input) else { continue }
            accepted += 1
            let line = inbox.logged(seq: index + 1, receivedAt: "2026-11-26T15:00:00.000Z").line
            let back = line.dropLast().withUnsafeBufferPointer { LoggedEvent(line: $0) }
            #expect(back?.id == inbox.id && back?.source == inbox.source && back?.type == inbox.type && back?.seq == index + 1,
                    "seed \(seed) (HOMELAB_FUZZ_SEED=\(base), input \(index)): \(String(decoding: line, as: UTF8.self))")
            // Every attribute name in the line is one the CloudEvents SDKs read.
            let legal = back?.envelope.keys.allSatisfy { $0 == "data_base64" || $0.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) } }
            #expect(legal == true, "seed \(seed) (HOMELAB_FUZZ_SEED=\(base), input \(index)): \(String(decoding: line, as: UTF8.self))")
        }
        #expect(accepted > 1_000, "the mutations should leave many events valid (seed \(base))")
    }
}
