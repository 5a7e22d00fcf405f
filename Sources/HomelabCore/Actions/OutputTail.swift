/// The end of an action's output (its last 4 KiB), for the action file.
public struct OutputTail: Sendable {
    private var bytes: [UInt8] = []
    public static let limit = 4096

    public init() {}

    public mutating func append(_ chunk: [UInt8]) {
        bytes += chunk.suffix(OutputTail.limit)
        if bytes.count > OutputTail.limit { bytes.removeFirst(bytes.count - OutputTail.limit) }
    }

    /// As text, invalid UTF-8 replaced.
    public var text: String { String(decoding: bytes, as: UTF8.self) }
}
