extension Digest {
    /// HMAC-SHA256 (RFC 2104): a digest only the holder of `key` can make, for the UI's session
    /// cookies. A key longer than the block is hashed first, as the RFC says.
    public static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        let blockSize = 64
        var block = key.count > blockSize ? sha256(key) : key
        block += [UInt8](repeating: 0, count: blockSize - block.count)
        let inner = sha256(block.map { $0 ^ 0x36 } + message)
        return sha256(block.map { $0 ^ 0x5c } + inner)
    }
}
