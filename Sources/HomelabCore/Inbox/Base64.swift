/// The check `data_base64` must pass (CloudEvents JSON format: RFC 4648 base64, the standard
/// alphabet, padded), so that every SDK reading the log can decode what it kept.
enum Base64 {
    static func isValid(_ text: String) -> Bool {
        let bytes = text.utf8
        guard bytes.count % 4 == 0 else { return false }
        var padding = 0
        for byte in bytes {
            if byte == UInt8(ascii: "=") {
                padding += 1
                if padding > 2 { return false }
            } else if padding > 0 || !isAlphabet(byte) {
                return false  // data after padding, or outside the alphabet
            }
        }
        return true
    }

    private static func isAlphabet(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "+"), UInt8(ascii: "/"): true
        default: false
        }
    }
}
