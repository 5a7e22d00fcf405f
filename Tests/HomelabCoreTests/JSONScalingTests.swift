import Testing
@testable import HomelabCore

/// The fastest of a few runs: a scheduler's hiccup should not fail a ratio.
func fastest(_ runs: Int = 3, _ body: () throws -> Void) rethrows -> Duration {
    var best = Duration.seconds(1_000_000)
    for _ in 0..<runs {
        let clock = ContinuousClock()
        let start = clock.now
        try body()
        best = min(best, clock.now - start)
    }
    return best
}

/// `{"k0":0,"k1":1,…}`: the shape of the hostile event that stalled the observer.
func manyKeys(_ count: Int) -> [UInt8] {
    var text = "{"
    for index in 0..<count { text += (index == 0 ? "" : ",") + "\"k\(index)\":\(index)" }
    return Array((text + "}").utf8)
}

/// Work that grows 16-fold must take well under 16² = 256 times as long. The bound is
/// generous (a debug build, a shared machine), and still far below what quadratic costs.
func expectLinear(_ label: String, small: Duration, large: Duration) {
    let ratio = large / max(small, .microseconds(1))
    #expect(ratio < 64, "\(label): 16 times the input took \(ratio) times as long (\(small) → \(large))")
}

@Suite(.timeLimit(.minutes(2))) struct JSONScalingTests {
    /// Each key used to be compared with every earlier one: 100,000 keys took 34 s.
    @Test func parsingManyKeysIsLinear() throws {
        let small = manyKeys(1_000), large = manyKeys(16_000)
        let smallTime = try fastest { _ = try JSONParser.parse(small) }
        let largeTime = try fastest { _ = try JSONParser.parse(large) }
        expectLinear("parse", small: smallTime, large: largeTime)
    }

    @Test func aDuplicateAmongManyKeysIsStillFound() {
        var bytes = manyKeys(1_000)
        bytes.removeLast()
        bytes += Array(#","k999":1}"#.utf8)
        #expect { try JSONParser.parse(bytes) } throws: { ($0 as? JSONError)?.code == .duplicateKey }
    }

    /// Callers that look up every key of a big object (a snapshot's validation, its fold).
    @Test func lookingUpEveryKeyIsLinear() throws {
        func lookUpAll(_ count: Int) throws -> Duration {
            let object = try #require(try JSONParser.parse(manyKeys(count)).object)
            let built = JSONObject(object.members)
            return fastest {
                for index in 0..<count {
                    precondition(object["k\(index)"] != nil && built["k\(index)"] != nil)
                }
            }
        }
        expectLinear("lookups", small: try lookUpAll(1_000), large: try lookUpAll(16_000))
    }

    @Test func aBigObjectStaysConsistentUnderEdits() {
        var object = JSONObject((0..<40).map { (key: "k\($0)", value: JSONValue.int($0)) })
        object["k3"] = nil
        #expect(object["k3"] == nil && object["k4"] == .int(4) && object["k39"] == .int(39))
        object["new"] = .int(1)
        object["k5"] = .int(50)
        #expect(object["new"] == .int(1) && object["k5"] == .int(50) && object.count == 40)
        object.members.append((key: "tail", value: .null))
        #expect(object["tail"] == .null && object.keys.last == "tail")
        // The first of two equal keys wins, as a scan would find it.
        let twice = JSONObject((0..<20).map { (key: "k\($0)", value: JSONValue.int($0)) } + [(key: "k1", value: .int(-1))])
        #expect(twice["k1"] == .int(1))
    }
}
