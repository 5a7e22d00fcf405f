#if canImport(Glibc)
import Glibc
#endif

/// SplitMix64: a tiny generator whose whole state is its seed, so a failing input is
/// reproduced by its seed alone.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The run's base seed: `HOMELAB_FUZZ_SEED` to replay one, else a fresh one (printed with
/// every failure). Input `i` of a run uses `base + i`.
func fuzzBaseSeed() -> UInt64 {
    if let text = getenv("HOMELAB_FUZZ_SEED").map({ String(cString: $0) }), let seed = UInt64(text) { return seed }
    return UInt64.random(in: 0...UInt64.max / 2)
}

/// Byte-level damage of the kinds hostile or broken producers make.
func mutate(_ input: [UInt8], _ random: inout SeededGenerator) -> [UInt8] {
    var bytes = input
    let rounds = Int.random(in: 1...4, using: &random)
    for _ in 0..<rounds {
        let at = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
        switch Int.random(in: 0..<10, using: &random) {
        case 0 where !bytes.isEmpty: bytes[at] ^= UInt8(1) << UInt8.random(in: 0...7, using: &random)
        case 1 where !bytes.isEmpty: bytes[at] = UInt8.random(in: 0...255, using: &random)
        case 2: bytes = Array(bytes.prefix(at))  // truncated
        case 3: bytes.insert(contentsOf: [UInt8](repeating: UInt8(ascii: "["), count: Int.random(in: 1...200, using: &random)), at: at)
        case 4: bytes.insert(contentsOf: Array("1\(String(repeating: "9", count: Int.random(in: 1...2000, using: &random)))e99999".utf8), at: at)
        case 5: bytes.insert(contentsOf: [[0xC3], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xFF], [0xE0, 0x80]].randomElement(using: &random)!, at: at)
        case 6: bytes.insert(contentsOf: Array(["\\ud800", "\\udc00", "\\ud83d\\ude00", "\\u0000", "\\", "\""].randomElement(using: &random)!.utf8), at: at)
        case 7 where !bytes.isEmpty:
            let end = min(bytes.count, at + Int.random(in: 1...64, using: &random))
            bytes.insert(contentsOf: bytes[at..<end], at: at)  // a region repeated
        case 8 where !bytes.isEmpty: bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...16, using: &random)))
        default: bytes.insert(contentsOf: Array(#","k":1,"k":2"#.utf8), at: at)
        }
    }
    return bytes
}
