import Testing
import HomelabCore
@testable import Observer

private func validate(_ text: String) -> Result<InboxEvent, Rejection> { EventValidation.validate(Array(text.utf8)) }

private func reason(_ text: String) -> String? {
    if case .failure(let rejection) = validate(text) { return rejection.reason }
    return nil
}

@Suite(.timeLimit(.minutes(2))) struct EventValidationTests {
    @Test func acceptsAMinimalEventAndFillsTheDefaults() throws {
        let text = #"{"type":"custom.thing","source":"node/nas"}"#
        let event = try validate(text).get()
        #expect(event.id == "sha256:" + Digest.sha256Hex(Array(text.utf8)))
        let line = event.logged(seq: 7, receivedAt: "2026-11-26T15:00:00.000Z")
        #expect(String(decoding: line.line, as: UTF8.self) == #"{"specversion":"1.0","id":"sha256:\#(Digest.sha256Hex(Array(text.utf8)))","source":"node/nas","type":"custom.thing","time":"2026-11-26T15:00:00.000Z","seq":7,"receivedAt":"2026-11-26T15:00:00.000Z"}"# + "\n")
    }

    @Test func keepsExtensionAttributesInOrder() throws {
        let event = try validate(#"{"zeta":1,"type":"t","source":"s","alpha":"x","data":{"k":true}}"#).get()
        let line = String(decoding: event.logged(seq: 1, receivedAt: "2026-11-26T15:00:00.000Z").line, as: UTF8.self)
        #expect(line.contains(#""time":"2026-11-26T15:00:00.000Z","zeta":1,"alpha":"x","data":{"k":true},"seq":1"#))
    }

    @Test(arguments: [
        ("not json", "not JSON: unexpected 'n'"),
        ("[1,2]", "not a JSON object (the document is an array)"),
        (#"{"source":"s"}"#, "missing \"type\""),
        (#"{"type":"t"}"#, "missing \"source\""),
        (#"{"type":7,"source":"s"}"#, "\"type\" must be a string, not a number"),
        (#"{"type":"","source":"s"}"#, "\"type\" is empty"),
        (#"{"type":"resource.observed","source":"s","data":{}}"#, "resource.observed needs a subject KIND/NAME"),
        (#"{"type":"resource.observed","source":"s","subject":"container/../../etc","data":{}}"#, "bad subject"),
        (#"{"type":"t","source":"s","subject":"has space/x"}"#, "bad subject"),
        (#"{"type":"resource.observed","source":"s","subject":"container/nas/x"}"#, "needs \"data\": an object"),
        (#"{"type":"resource.observed","source":"s","subject":"action/x","data":{}}"#, "cannot change action/"),
        (#"{"type":"node.heartbeat","source":"s","subject":"container/x"}"#, "needs a subject node/NAME"),
        (#"{"type":"action.approved","source":"s","subject":"action/a/b"}"#, "bad subject"),
        (#"{"type":"resource.snapshot","source":"s","subject":"container/nas","data":{"resources":{"pi/x":{}}}}"#, "not a valid NAME under nas/"),
        (#"{"type":"resource.snapshot","source":"s","subject":"container/nas"}"#, "needs \"data.resources\""),
        (#"{"type":"t","source":"s","time":"yesterday"}"#, "not an RFC 3339 timestamp"),
        (#"{"type":"t","source":"s","specversion":"0.3"}"#, "specversion \"0.3\" is not supported"),
        (#"{"type":"t","source":"s","seq":5}"#, "\"seq\" is set by the observer"),
    ])
    func refusesWithAClearReason(text: String, expected: String) {
        let refusal = reason(text)
        #expect(refusal?.contains(expected) == true, "got \(refusal ?? "acceptance")")
    }

    @Test func refusesOversizedDeepAndNonUTF8Documents() {
        let big = Array(#"{"type":"t","source":"s","data":""#.utf8) + [UInt8](repeating: 0x61, count: 1 << 20) + Array(#""}"#.utf8)
        guard case .failure(let size) = EventValidation.validate(big) else { Issue.record("accepted 1 MiB"); return }
        #expect(size.reason.hasPrefix("over 1 MiB"))
        let deep = #"{"type":"t","source":"s","data":"# + String(repeating: "[", count: 40) + String(repeating: "]", count: 40) + "}"
        #expect(reason(deep)?.hasPrefix("too deeply nested") == true)
        let latin1 = Array(#"{"type":"t","source":"caf"#.utf8) + [0xE9] + Array(#""}"#.utf8)
        guard case .failure(let encoding) = EventValidation.validate(latin1) else { Issue.record("accepted Latin-1"); return }
        #expect(encoding.reason.hasPrefix("not UTF-8"))
    }
}
