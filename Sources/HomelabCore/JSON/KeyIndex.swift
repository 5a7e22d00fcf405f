/// Where each key of a big object is: open addressing over slots that hold a key's hash and
/// its member's position. The hash is FNV-1a over the key's UTF-8 bytes — keys compare as
/// the bytes they were written with, and String's own hashing (which normalizes for Unicode
/// equality, with a per-process seed) costs several times more — and it is kept in the slot,
/// so growing the table never hashes a key again. The parser builds one for every object past
/// a handful of members, which is what keeps a 100,000-key object linear.
struct KeyIndex: Sendable {
    /// Each slot: the hash's high 32 bits, then the position + 1 (0 is empty).
    private var slots: [UInt64]
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [UInt64](repeating: 0, count: size)
        mask = size - 1
    }

    static func hash(_ key: String) -> UInt64 {
        var key = key
        return key.withUTF8 { bytes in
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in bytes {
                hash ^= UInt64(byte)
                hash &*= 0x0000_0100_0000_01b3
            }
            return hash
        }
    }

    /// The position of `key`, if the index holds it; `keyAt` gives a position's key.
    func position(of key: String, hash: UInt64, keyAt: (Int) -> String) -> Int? {
        let tag = hash >> 32
        var slot = Self.home(tag: tag, mask: mask)
        while slots[slot] != 0 {
            let entry = slots[slot]
            if entry >> 32 == tag {
                let position = Int(entry & 0xffff_ffff) - 1
                if keyAt(position).utf8.elementsEqual(key.utf8) { return position }
            }
            slot = (slot + 1) & mask
        }
        return nil
    }

    /// Records `key` at `position`, unless the index already holds it: then its position.
    mutating func insert(_ key: String, hash: UInt64, at position: Int, keyAt: (Int) -> String) -> Int? {
        if let existing = self.position(of: key, hash: hash, keyAt: keyAt) { return existing }
        if (count + 1) * 2 > slots.count { grow() }
        var slot = Self.home(tag: hash >> 32, mask: mask)
        while slots[slot] != 0 { slot = (slot + 1) & mask }
        slots[slot] = (hash >> 32) << 32 | UInt64(position + 1)
        count += 1
        return nil
    }

    /// Twice the slots; each entry moves by the tag it keeps, so no key is read or hashed again.
    private mutating func grow() {
        let old = slots
        slots = [UInt64](repeating: 0, count: old.count * 2)
        mask = slots.count - 1
        for entry in old where entry != 0 {
            var slot = Self.home(tag: entry >> 32, mask: mask)
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = entry
        }
    }

    /// A slot is found from the hash's high 32 bits (the tag) alone, spread by Fibonacci
    /// hashing: what a slot keeps is then all a grow needs.
    private static func home(tag: UInt64, mask: Int) -> Int { Int(truncatingIfNeeded: (tag &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask }
}
