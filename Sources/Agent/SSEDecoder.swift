/// Server-Sent Events as the agent reads them from its action stream (the WHATWG framing):
/// `field: value` lines, a blank line ends a message; `event` names it, `data` lines are
/// joined with newlines, comments (`:` lines, the server's keep-alives) and other fields are
/// skipped. Fed the stream's body as it arrives, in any pieces.
struct SSEDecoder {
    struct Message: Equatable {
        var event: String
        var data: String
    }

    /// A line longer than this is dropped, as is the message it belongs to: an offer is small.
    static let maxLine = 1 << 20

    private var line: [UInt8] = []
    private var event = ""
    private var data: [String] = []
    private var hasData = false
    private var overlong = false
    /// The last byte was a CR: an LF right after it is the same line end.
    private var afterCR = false

    /// The messages the bytes complete, in order.
    mutating func feed(_ bytes: [UInt8]) -> [Message] {
        var messages: [Message] = []
        for byte in bytes {
            if byte == 0x0A && afterCR {
                afterCR = false
                continue
            }
            afterCR = byte == 0x0D
            if byte == 0x0A || byte == 0x0D {
                if let message = endLine() { messages.append(message) }
            } else if line.count < Self.maxLine {
                line.append(byte)
            } else {
                overlong = true
            }
        }
        return messages
    }

    private mutating func endLine() -> Message? {
        defer { line = [] }
        if line.isEmpty {
            defer { event = ""; data = []; hasData = false; overlong = false }
            guard hasData, !overlong else { return nil }
            return Message(event: event.isEmpty ? "message" : event, data: data.joined(separator: "\n"))
        }
        guard line.first != UInt8(ascii: ":") else { return nil }
        let text = String(decoding: line, as: UTF8.self)
        let colon = text.firstIndex(of: ":")
        let field = colon.map { String(text[..<$0]) } ?? text
        var value = colon.map { String(text[text.index(after: $0)...]) } ?? ""
        if value.hasPrefix(" ") { value.removeFirst() }
        switch field {
        case "event": event = value
        case "data":
            data.append(value)
            hasData = true
        default: break
        }
        return nil
    }
}
