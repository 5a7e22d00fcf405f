/// The end of an action's output (its last 4 KiB), for the action file.
struct OutputTail {
    private var bytes: [UInt8] = []
    static let limit = 4096

    mutating func append(_ chunk: [UInt8]) {
        bytes += chunk.suffix(OutputTail.limit)
        if bytes.count > OutputTail.limit { bytes.removeFirst(bytes.count - OutputTail.limit) }
    }

    /// As text, invalid UTF-8 replaced.
    var text: String { String(decoding: bytes, as: UTF8.self) }
}
