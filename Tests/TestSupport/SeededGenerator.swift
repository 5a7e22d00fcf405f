#if canImport(Glibc)
import Glibc
#endif

/// SplitMix64: a tiny generator whose whole state is its seed, so a failing input is
/// reproduced by its seed alone.
public struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `0..<bound` (0 when `bound` is not positive).
    public mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(1, bound))) }
}

/// The run's base seed: `HOMELAB_FUZZ_SEED` to replay one, else a fresh one (printed with
/// every failure). Input `i` of a run uses `base + i`.
public func fuzzBaseSeed() -> UInt64 {
    if let text = getenv("HOMELAB_FUZZ_SEED").map({ String(cString: $0) }), let seed = UInt64(text) { return seed }
    return UInt64.random(in: 0...UInt64.max / 2)
}
