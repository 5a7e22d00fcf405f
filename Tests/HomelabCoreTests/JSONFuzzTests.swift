import Testing
import TestSupport
@testable import HomelabCore

/// Whatever bytes arrive, the parser ends with a value or a `JSONError` — never a crash, a
/// hang or a quadratic stall — and what it accepts writes back to the same value.
@Suite(.timeLimit(.minutes(3))) struct JSONFuzzTests {
    static let seeds: [String] = [
        #"{"specversion":"1.0","id":"a","source":"node/nas","type":"resource.observed","subject":"container/nas/x","data":{"state":"running","n":[1,2.5,-3e4,true,false,null]}}"#,
        #"[{"k":"é \"q\" \\ \n\t\u0001 \ud83d\ude00"},[],{},"",0,-0.0]"#,
        #"{"a":{"b":{"c":{"d":[[[["deep"]]]]}}}}"#,
        "\"\\u00e9\\/\"", "123456789012345678901234567890", "true", "null", " [ 1 , 2 ] ",
    ]

    @Test func mutatedDocumentsEndInAValueOrAnError() {
        let base = fuzzBaseSeed()
        for index in 0..<20_000 {
            var random = SeededGenerator(seed: base &+ UInt64(index))
            let seed = Array(Self.seeds.randomElement(using: &random)!.utf8)
            let input = mutate(seed, &random)
            do {
                let value = try JSONParser.parse(input)
                let again = try JSONParser.parse(JSONWriter.encode(value))
                #expect(again == value, "seed \(base &+ UInt64(index)) (HOMELAB_FUZZ_SEED=\(base), input \(index)): the round trip changed the value")
            } catch {
                #expect(!error.reason.isEmpty && error.offset >= 0 && error.offset <= input.count,
                        "seed \(base &+ UInt64(index)) (HOMELAB_FUZZ_SEED=\(base), input \(index)): \(error)")
            }
        }
    }

    @Test func randomBytesEndInAValueOrAnError() {
        let base = fuzzBaseSeed()
        for index in 0..<20_000 {
            var random = SeededGenerator(seed: base &+ UInt64(index))
            let alphabet = Array(#"{}[]",:\ tfn0123456789.-+eEu"#.utf8) + [0x80, 0xC3, 0xFF, 0x0A]
            let input = (0..<Int.random(in: 0...64, using: &random)).map { _ in alphabet.randomElement(using: &random)! }
            do {
                _ = try JSONParser.parse(input)
            } catch {
                #expect(error.offset <= input.count, "seed \(base &+ UInt64(index)) (HOMELAB_FUZZ_SEED=\(base), input \(index)): \(error)")
            }
        }
    }

    /// Hostile shapes, each at two sizes 16 times apart: the time grows about as the size.
    @Test(arguments: ["keys", "nestedObjects", "escapes", "numbers", "arrays"])
    func hostileShapesParseInLinearTime(shape: String) throws {
        func document(_ n: Int) -> [UInt8] {
            switch shape {
            case "keys": return manyKeys(n)
            case "nestedObjects":  // many sibling objects each with many keys, within maxDepth
                return Array(("[" + (0..<(n / 20)).map { _ in String(decoding: manyKeys(20), as: UTF8.self) }.joined(separator: ",") + "]").utf8)
            case "escapes": return Array(("\"" + String(repeating: #"\ud83d\ude00\n\u00e9"#, count: n) + "\"").utf8)
            case "numbers": return Array(("[" + String(repeating: "-12345.678e+90,", count: n) + "1" + String(repeating: "9", count: n) + "]").utf8)
            default: return Array(("[" + String(repeating: "[1,[2,[3]]],", count: n) + "0]").utf8)
            }
        }
        let small = document(1_000), large = document(16_000)
        let smallTime = fastest { _ = try? JSONParser.parse(small) }
        let largeTime = fastest { _ = try? JSONParser.parse(large) }
        expectLinear(shape, small: smallTime, large: largeTime)
    }
}
