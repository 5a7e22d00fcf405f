#if canImport(Glibc)
import Glibc
#endif
import TestSupport

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
