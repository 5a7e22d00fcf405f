import Testing
@testable import HomelabCore

@Suite(.timeLimit(.minutes(1))) struct KeyIndexTests {
    @Test func findsEveryKeyThroughItsGrowthAndRefusesARepeat() {
        var keys: [String] = []
        var index = KeyIndex(capacity: 4)
        for n in 0..<50_000 {
            let key = "k\(n * 7919 % 100_003)"
            #expect(index.insert(key, hash: KeyIndex.hash(key), at: keys.count) { keys[$0] } == nil)
            keys.append(key)
        }
        #expect(index.count == keys.count)
        for (position, key) in keys.enumerated() where position % 97 == 0 {
            #expect(index.position(of: key, hash: KeyIndex.hash(key)) { keys[$0] } == position)
        }
        #expect(index.position(of: "absent", hash: KeyIndex.hash("absent")) { keys[$0] } == nil)
        #expect(index.insert(keys[123], hash: KeyIndex.hash(keys[123]), at: keys.count) { keys[$0] } == 123)
    }

    /// Keys compare as the bytes they were written with: "é" composed and decomposed are two
    /// keys, in a small object and in a big one alike.
    @Test func keysCompareAsTheirBytes() throws {
        let small = try #require(JSONParser.parse(Array(#"{"\#u{e9}":1,"e\#u{301}":2}"#.utf8)).object)
        #expect(small.count == 2 && small["\u{e9}"] == .int(1) && small["e\u{301}"] == .int(2))
        let filler = (0..<20).map { #""f\#($0)":0"# }.joined(separator: ",")
        let big = try #require(JSONParser.parse(Array(#"{\#(filler),"\#u{e9}":1,"e\#u{301}":2}"#.utf8)).object)
        #expect(big.count == 22 && big["\u{e9}"] == .int(1) && big["e\u{301}"] == .int(2))
        #expect(throws: JSONError.self) { try JSONParser.parse(Array(#"{\#(filler),"f3":1}"#.utf8)) }
    }
}
