extension HTTPClient {
    /// One HTTP/1.1 response as the client needs it.
    public struct Response: Sendable {
        public var status: Int
        /// Names lower-cased, in order.
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]
        /// The connection may carry the next request.
        public var keepAlive: Bool

        public init(status: Int, headers: [(name: String, value: String)], body: [UInt8], keepAlive: Bool) {
            self.status = status
            self.headers = headers
            self.body = body
            self.keepAlive = keepAlive
        }

        public func header(_ name: String) -> String? { headers.first { $0.name == name }?.value }
    }
}

/// The minimal response parser of the HTTP client: a status line, headers to the
/// blank line, then a body framed by Content-Length, chunked transfer coding, or the end of
/// the connection. Fed bytes as they arrive; 1xx interim responses are skipped.
///
/// The same parser reads a stream (the action stream's `text/event-stream`): once `head` is
/// known the client drains the body decoded so far with `takeBody()`, so a response that
/// never ends is read in bounded memory.
public struct HTTPResponseParser {
    public enum Step {
        case needMore
        case done(HTTPClient.Response)
        case invalid(String)
    }

    public static let maxHead = 64 << 10
    public static let maxBody = 16 << 20

    private enum Framing {
        case length(Int)
        case chunked
        case untilClose
    }

    private var buffer: [UInt8] = []
    private var head: (status: Int, headers: [(name: String, value: String)], keepAlive: Bool)?
    private var framing = Framing.untilClose
    private var body: [UInt8] = []
    /// How far `buffer` has been consumed.
    private var position = 0
    /// The chunk being read: bytes left of it, or nil between chunks.
    private var chunkLeft: Int?
    private var inTrailers = false

    public init() {}

    public mutating func feed(_ bytes: ArraySlice<UInt8>) -> Step {
        if position > 0 && (position == buffer.count || position >= 64 << 10) {
            // What is consumed goes: a long stream must not keep every byte it carried.
            buffer.removeFirst(position)
            position = 0
        }
        buffer.append(contentsOf: bytes)
        return parse()
    }

    /// The status and headers, once they arrived (the body still coming).
    public var response: HTTPClient.Response? {
        head.map { HTTPClient.Response(status: $0.status, headers: $0.headers, body: [], keepAlive: $0.keepAlive) }
    }

    /// The body decoded so far, handed over and forgotten (a stream's reader).
    public mutating func takeBody() -> [UInt8] {
        defer { body = [] }
        return body
    }

    /// The connection ended: a body framed by the close is complete; anything else is cut short.
    public mutating func finish() -> Step {
        if let head, case .untilClose = framing {
            return .done(HTTPClient.Response(status: head.status, headers: head.headers, body: body, keepAlive: false))
        }
        return .invalid(head == nil && buffer.isEmpty ? "the connection closed before any response" : "the connection closed mid-response")
    }

    private mutating func parse() -> Step {
        while head == nil {
            guard let end = headEnd() else {
                return buffer.count - position > Self.maxHead ? .invalid("response head over \(Self.maxHead) bytes") : .needMore
            }
            switch parseHead(buffer[position..<end]) {
            case .failure(let error): return .invalid(error.description)
            case .success(let parsed):
                position = end + 4
                if parsed.status >= 100 && parsed.status < 200 { continue }  // 100 Continue and friends
                head = parsed
            }
        }
        switch framing {
        case .length(let length):
            guard buffer.count - position >= length else { return .needMore }
            body = Array(buffer[position..<(position + length)])
            return complete()
        case .untilClose:
            body.append(contentsOf: buffer[position...])
            position = buffer.count
            return body.count > Self.maxBody ? .invalid("response body over \(Self.maxBody) bytes") : .needMore
        case .chunked:
            return parseChunks()
        }
    }

    private func headEnd() -> Int? {
        var index = position
        while index + 3 < buffer.count {
            if buffer[index] == 13, buffer[index + 1] == 10, buffer[index + 2] == 13, buffer[index + 3] == 10 { return index }
            index += 1
        }
        return nil
    }

    private mutating func parseHead(_ bytes: ArraySlice<UInt8>) -> Result<(status: Int, headers: [(name: String, value: String)], keepAlive: Bool), HTTPClientError> {
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusLine = lines.first.map(String.init) ?? ""
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, let status = Int(parts[1]) else {
            return .failure(HTTPClientError(description: "not an HTTP/1.x status line: \"\(statusLine.prefix(80))\""))
        }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { return .failure(HTTPClientError(description: "a header line without a colon")) }
            headers.append((line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingWhitespace()))
        }
        let connection = headers.filter { $0.name == "connection" }.map { $0.value.lowercased() }
        var keepAlive = parts[0] == "HTTP/1.1" ? !connection.contains("close") : connection.contains("keep-alive")
        let encoding = headers.first { $0.name == "transfer-encoding" }?.value.lowercased()
        let lengths = Set(headers.filter { $0.name == "content-length" }.map(\.value))
        if let encoding {
            guard encoding == "chunked" else { return .failure(HTTPClientError(description: "transfer-encoding \"\(encoding)\" is not supported")) }
            framing = .chunked
        } else if let text = lengths.first {
            guard lengths.count == 1, let length = Int(text), length >= 0 else { return .failure(HTTPClientError(description: "a bad Content-Length")) }
            guard length <= Self.maxBody else { return .failure(HTTPClientError(description: "response body over \(Self.maxBody) bytes")) }
            framing = .length(length)
        } else if status == 204 || status == 304 {
            framing = .length(0)
        } else {
            framing = .untilClose
            keepAlive = false
        }
        return .success((status, headers, keepAlive))
    }

    private mutating func parseChunks() -> Step {
        while true {
            if let left = chunkLeft {
                let available = min(left, buffer.count - position)
                body.append(contentsOf: buffer[position..<(position + available)])
                position += available
                if available < left {
                    chunkLeft = left - available
                    return .needMore
                }
                // The chunk's own CRLF.
                guard buffer.count - position >= 2 else {
                    chunkLeft = 0
                    return .needMore
                }
                guard buffer[position] == 13, buffer[position + 1] == 10 else { return .invalid("a chunk not followed by CRLF") }
                position += 2
                chunkLeft = nil
                continue
            }
            guard let lineEnd = lineEnd() else { return .needMore }
            let line = String(decoding: buffer[position..<lineEnd], as: UTF8.self)
            position = lineEnd + 2
            if inTrailers {
                if line.isEmpty { return complete() }
                continue
            }
            let sizeText = line.prefix { $0 != ";" }.trimmingWhitespace()
            guard let size = Int(sizeText, radix: 16), size >= 0 else { return .invalid("a bad chunk size \"\(sizeText.prefix(20))\"") }
            if size == 0 {
                inTrailers = true
                continue
            }
            guard body.count + size <= Self.maxBody else { return .invalid("response body over \(Self.maxBody) bytes") }
            chunkLeft = size
        }
    }

    private func lineEnd() -> Int? {
        var index = position
        while index + 1 < buffer.count {
            if buffer[index] == 13, buffer[index + 1] == 10 { return index }
            index += 1
        }
        return nil
    }

    private func complete() -> Step {
        guard let head else { return .needMore }
        return .done(HTTPClient.Response(status: head.status, headers: head.headers, body: body, keepAlive: head.keepAlive))
    }
}
