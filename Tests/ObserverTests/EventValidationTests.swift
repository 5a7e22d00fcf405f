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
        #expect(String(decoding: line.line, as: UTF8.self) == #"{"specversion":"1.0","id":"sha256:\#(Digest.sha256Hex(Array(text.utf8)))","source":"node/nas","type":"custom.thing","time":"2026-11-26T15:00:00.000Z","seq":7,"receivedat":"2026-11-26T15:00:00.000Z"}"# + "\n")
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
        (#"{"type":"resource.removed","source":"s","subject":"has space/x"}"#, "bad subject"),
        (#"{"type":"t","source":"s","receivedat":"2026-11-26T15:00:00.000Z"}"#, "\"receivedat\" is set by the observer"),
        (#"{"type":"t","source":"s","receivedAt":"2026-11-26T15:00:00.000Z"}"#, "\"receivedAt\" is set by the observer"),
        (#"{"type":"t","source":"s","myExt":1}"#, "attribute name \"myExt\" is not allowed: CloudEvents attribute names are lower-case ASCII letters and digits only"),
        (#"{"type":"t","source":"s","my-ext":1}"#, "attribute name \"my-ext\" is not allowed"),
        (#"{"type":"t","source":"s","my_ext":1}"#, "attribute name \"my_ext\" is not allowed"),
        (#"{"type":"t","source":"s","":1}"#, "an attribute name is empty"),
        (#"{"type":"t","source":"s","data_base64":7}"#, "\"data_base64\" must be a string, not a number"),
        (#"{"type":"t","source":"s","data_base64":"aGk"}"#, "not valid base64"),
        (#"{"type":"t","source":"s","data_base64":"a=Gk"}"#, "not valid base64"),
        (#"{"type":"t","source":"s","data_base64":"aGk=","data":{}}"#, "\"data\" and \"data_base64\" are exclusive"),
        (#"{"type":"resource.observed","source":"s","subject":"container/x","data_base64":"e30="}"#, "resource.observed is folded from JSON \"data\"; \"data_base64\" is not accepted for it"),
        (#"{"type":"t","source":"s","dataschema":7}"#, "\"dataschema\" must be a string"),
        (#"{"type":"t","source":"s","subject":""}"#, "\"subject\" is empty"),
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

    /// Every attribute a producer sends ends up in the log line: dataschema was dropped.
    @Test func keepsEveryAttributeIncludingDataschemaAndBase64Data() throws {
        let text = #"{"specversion":"1.0","type":"com.example.upload","source":"/cameras/1","id":"u1","subject":"mynewfile.jpg","time":"2026-11-26T15:00:00Z","datacontenttype":"image/jpeg","dataschema":"https://example.com/schema","comexampleextension1":"value","averyveryverylongextensionname":true,"data_base64":"/9j/4AAQ"}"#
        let event = try validate(text).get()
        let line = String(decoding: event.logged(seq: 3, receivedAt: "2026-11-26T15:00:01.000Z").line, as: UTF8.self)
        #expect(line == #"{"specversion":"1.0","id":"u1","source":"/cameras/1","type":"com.example.upload","subject":"mynewfile.jpg","time":"2026-11-26T15:00:00Z","datacontenttype":"image/jpeg","dataschema":"https://example.com/schema","comexampleextension1":"value","averyveryverylongextensionname":true,"data_base64":"/9j/4AAQ","seq":3,"receivedat":"2026-11-26T15:00:01.000Z"}"# + "\n")
        let back = try #require(Array(line.utf8).withUnsafeBufferPointer { LoggedEvent(line: UnsafeBufferPointer(rebasing: $0.dropLast())) })
        #expect(back.receivedAt == "2026-11-26T15:00:01.000Z" && back.subject == "mynewfile.jpg" && back.data == nil)
    }

    /// The KIND/NAME grammar is for the types the world folds; others take any subject.
    @Test func freeFormSubjectsForTypesTheWorldDoesNotFold() throws {
        for subject in ["mynewfile.jpg", "has space/x", "a/../../etc", "ü/😀"] {
            let event = try validate(#"{"type":"com.example.file.created","source":"s","subject":"\#(subject)"}"#).get()
            #expect(event.subject == subject)
        }
        #expect(reason(#"{"type":"resource.observed","source":"s","subject":"mynewfile.jpg","data":{}}"#)?.contains("bad subject") == true)
        #expect(reason(#"{"type":"action.proposed","source":"s","subject":"mynewfile.jpg"}"#)?.contains("bad subject") == true)
    }

    /// Base64 data is fine for types only logged, and for those whose data the fold ignores.
    @Test func acceptsBase64DataWhereTheWorldDoesNotFoldData() throws {
        for base64 in ["", "aGk=", "aGVsbG8=", "aGVsbG8h"] {
            _ = try validate(#"{"type":"t","source":"s","data_base64":"\#(base64)"}"#).get()
        }
        #expect(reason(#"{"type":"node.heartbeat","source":"s","subject":"node/nas","data_base64":"aGk="}"#)?.contains("not accepted") == true)
    }
}
