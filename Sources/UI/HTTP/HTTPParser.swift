/// Reads requests off a connection's bytes, strictly (RFC 9112): limits on the request line
/// (414), the header block (431) and the body (413); one `Host` and at most one
/// `Content-Length`; no `Transfer-Encoding` (and never with `Content-Length`); no
/// obsolete line folding or whitespace before a colon. Any violation ends the connection after
/// its 4xx answer, because the parser can no longer know where the next request starts.
public struct HTTPParser {
    public struct Limits: Sendable {
        public var requestLine = 8 << 10
        public var headerBlock = 16 << 10
        public var headerCount = 100
        public var body = 64 << 10
        public init() {}
    }

    public enum Result {
        case needMore
        /// A request and how many bytes of the buffer it used.
        case request(HTTPRequest, consumed: Int)
        case failure(status: Int, reason: String)
    }

    public let limits: Limits

    public init(limits: Limits = Limits()) { self.limits = limits }

    public func parse(_ buffer: ArraySlice<UInt8>) -> Result {
        let start = buffer.startIndex
        // The request line.
        guard let lineEnd = firstCRLF(buffer, from: start) else {
            return buffer.count > limits.requestLine ? .failure(status: 414, reason: "request line too long") : .needMore
        }
        if lineEnd - start > limits.requestLine { return .failure(status: 414, reason: "request line too long") }
        let parts = buffer[start..<lineEnd].split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(isTokenByte), !parts[1].isEmpty else {
            return .failure(status: 400, reason: "malformed request line")
        }
        let method = String(decoding: parts[0], as: UTF8.self)
        let target = String(decoding: parts[1], as: UTF8.self)
        let version = String(decoding: parts[2], as: UTF8.self)
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else { return .failure(status: 400, reason: "unsupported version") }
        guard target.hasPrefix("/"), target.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            return .failure(status: 400, reason: "malformed request target")
        }

        // The header block, up to the empty line.
        var headers: [(name: String, value: String)] = []
        var cursor = lineEnd + 2
        while true {
            guard let end = firstCRLF(buffer, from: cursor) else {
                return cursor - start > limits.headerBlock || buffer.count > limits.requestLine + limits.headerBlock
                    ? .failure(status: 431, reason: "header block too large") : .needMore
            }
            if end - (lineEnd + 2) > limits.headerBlock { return .failure(status: 431, reason: "header block too large") }
            if end == cursor {
                cursor += 2
                break
            }
            let line = buffer[cursor..<end]
            if line.first == UInt8(ascii: " ") || line.first == UInt8(ascii: "\t") {
                return .failure(status: 400, reason: "obsolete header line folding")
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
                  line[line.startIndex..<colon].allSatisfy(isTokenByte)
            else { return .failure(status: 400, reason: "malformed header line") }
            // ASCII lower-casing on the bytes: header names are tokens, and Unicode case
            // mapping per header is measurable at tens of thousands of requests a second.
            let name = String(decoding: line[line.startIndex..<colon].map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 }, as: UTF8.self)
            var value = line[(colon + 1)...]
            while let first = value.first, first == 0x20 || first == 0x09 { value = value.dropFirst() }
            while let last = value.last, last == 0x20 || last == 0x09 { value = value.dropLast() }
            if value.contains(where: { $0 < 0x20 && $0 != 0x09 || $0 == 0x7f }) { return .failure(status: 400, reason: "control character in a header") }
            headers.append((name, String(decoding: value, as: UTF8.self)))
            if headers.count > limits.headerCount { return .failure(status: 431, reason: "too many header fields") }
            cursor = end + 2
        }

        // The rules that make request boundaries unambiguous.
        let hosts = headers.filter { $0.name == "host" }.count
        let lengths = headers.filter { $0.name == "content-length" }
        if hosts > 1 { return .failure(status: 400, reason: "more than one Host") }
        if hosts == 0 && version == "HTTP/1.1" { return .failure(status: 400, reason: "no Host") }
        if lengths.count > 1 { return .failure(status: 400, reason: "more than one Content-Length") }
        if headers.contains(where: { $0.name == "transfer-encoding" }) {
            return .failure(status: 400, reason: lengths.isEmpty ? "Transfer-Encoding is not supported" : "Content-Length with Transfer-Encoding")
        }
        var bodyLength = 0
        if let length = lengths.first {
            guard !length.value.isEmpty, length.value.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), length.value.utf8.count <= 10,
                  let parsed = Int(length.value)
            else { return .failure(status: 400, reason: "malformed Content-Length") }
            bodyLength = parsed
        }
        if bodyLength > limits.body { return .failure(status: 413, reason: "body over \(limits.body) bytes") }
        guard buffer.endIndex - cursor >= bodyLength else { return .needMore }
        let body = Array(buffer[cursor..<(cursor + bodyLength)])

        let (path, query) = HTTPParser.split(target)
        let request = HTTPRequest(method: method, path: path, query: query, version: version, headers: headers, body: body)
        return .request(request, consumed: cursor + bodyLength - start)
    }

    private func firstCRLF(_ buffer: ArraySlice<UInt8>, from: Int) -> Int? {
        var index = from
        while index + 1 < buffer.endIndex {
            if buffer[index] == 0x0D && buffer[index + 1] == 0x0A { return index }
            index += 1
        }
        return nil
    }

    private func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    /// Splits `/path?a=1&b=2` and decodes percent-escapes in the query values.
    static func split(_ target: String) -> (String, [String: String]) {
        guard let mark = target.firstIndex(of: "?") else { return (target, [:]) }
        var query: [String: String] = [:]
        for pair in target[target.index(after: mark)...].split(separator: "&") {
            let halves = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            query[percentDecoded(halves[0])] = halves.count > 1 ? percentDecoded(halves[1]) : ""
        }
        return (String(target[..<mark]), query)
    }

    static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
               let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) {
                bytes.append(value)
            } else {
                bytes.append(byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
