import Testing
@testable import HomelabCore

@Suite(.timeLimit(.minutes(2))) struct JSONTests {
    private func parse(_ text: String, maxDepth: Int = 64) throws -> JSONValue {
        try JSONParser.parse(Array(text.utf8), maxDepth: maxDepth)
    }

    @Test func roundTripsKeepingOrderAndNumberText() throws {
        let text = #"{"z":1,"a":[true,false,null,-0.5e+3,12],"s":"é \"q\" \\ \n\t\u0001","n":{}}"#
        let value = try parse(text)
        #expect(JSONWriter.string(value) == #"{"z":1,"a":[true,false,null,-0.5e+3,12],"s":"é \"q\" \\ \n\t\u0001","n":{}}"#)
        #expect(value["z"] == .number("1"))
        #expect(value["s"]?.string == "é \"q\" \\ \n\t\u{01}")
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        #expect(try parse(#""\u00e9\ud83d\ude00\/""#) == .string("é😀/"))
    }

    @Test(arguments: [
        ("{\"a\":1,}", "expected a key string, found '}'"),
        ("{\"a\":1 \"b\":2}", "expected ',' or '}'"),
        ("[1,2", "unexpected end of input"),
        ("01", "unexpected '1' after the value"),
        ("{\"a\":1,\"a\":2}", "duplicate key \"a\""),
        ("\"\\ud800\"", "lone surrogate"),
        ("\"tab\there\"", "control character in a string"),
        ("nul", "unexpected end of input"),
        ("-", "malformed number"),
        ("1.", "malformed number"),
        ("\"\\x\"", "invalid escape"),
        ("{} {}", "after the value"),
    ])
    func refusesMalformedDocuments(text: String, reason: String) {
        #expect {
            _ = try parse(text)
        } throws: { error in
            "\(error)".contains(reason)
        }
    }

    @Test func refusesInvalidUTF8() {
        for bytes: [UInt8] in [[0x22, 0xC3, 0x28, 0x22], [0x22, 0xE0, 0x80, 0x80, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xFF, 0x22]] {
            #expect { try JSONParser.parse(bytes) } throws: { ($0 as? JSONError)?.code == .invalidUTF8 }
        }
    }

    @Test func codesSayWhichKindOfRefusal() {
        for (text, code): (String, JSONError.Code) in [
            ("{\"a\":1,\"a\":2}", .duplicateKey), ("\"\\ud800\"", .loneSurrogate), ("[1,]", .syntax),
        ] {
            #expect { try parse(text) } throws: { ($0 as? JSONError)?.code == code }
        }
    }

    @Test func boundsNesting() throws {
        let deep = String(repeating: "[", count: 33) + String(repeating: "]", count: 33)
        #expect { try parse(deep, maxDepth: 32) } throws: { ($0 as? JSONError)?.code == .tooDeep }
        _ = try parse(String(repeating: "[", count: 32) + String(repeating: "]", count: 32), maxDepth: 32)
    }

    @Test func sha256MatchesTheStandardVectors() {
        #expect(Digest.sha256Hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Digest.sha256Hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Digest.sha256Hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(Digest.randomHex().count == 32 && Digest.randomHex() != Digest.randomHex())
    }

    @Test func subjectsFollowTheGrammar() {
        #expect((try? Subject.parse("container/nas/jellyfin").get()) == Subject(kind: "container", name: "nas/jellyfin"))
        for bad in ["container", "container/", "container/../etc", "container/nas//x", "-x/y", "a/b/c/d/e/f/g/h/i/j", "k/na me"] {
            #expect((try? Subject.parse(bad).get()) == nil, "\(bad) accepted")
        }
    }
}
