/// Reads requests off a connection's bytes, strictly (RFC 9112): limits on the request line
/// (414), the header block (431) and the body (413, chunked or not); one `Host` and at most
/// one `Content-Length`; `Transfer-Encoding: chunked` alone (never with `Content-Length`,
/// never another coding: 501); no obsolete line folding or whitespace before a colon; an
/// `Expect` other than `100-continue` is 417. Any violation ends the connection after its 4xx
/// answer, because the parser can no longer know where the next request starts. Parsing is
/// linear in the bytes given, and a request never needs more than `Limits.maxRequestBytes`.
public struct HTTPParser {
    public struct Limits: Sendable {
        public var requestLine = 8 << 10
        public var headerBlock = 16 << 10
        public var headerCount = 100
        public var body = 64 << 10
        /// Paths that take a larger body than `body` (an upload of events), with their limit.
        public var largeBodies: [String: Int] = [:]
        public init() {}

        public func body(for path: String) -> Int { largeBodies[path] ?? body }

        /// The most bytes one request may take on the wire, chunk framing and trailers
        /// included: the parser refuses before needing more.
        public var maxRequestBytes: Int { requestLine + 2 * headerBlock + Limits.chunkedFraming(largeBodies.values.max().map { max($0, body) } ?? body) + 8 }

        /// A chunked body's framing may double its size at most (then 413): tiny chunks are
        /// a way to make the server read far more than the body it accepts.
        static func chunkedFraming(_ body: Int) -> Int { 2 * body + 4096 }
    }

    public enum Result {
        case needMore
        /// The header block is complete and acceptable, the body has yet to come, and the
        /// client waits for `100 Continue` before sending it.
        case expectsContinue
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
        guard target.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }), let origin = HTTPParser.originForm(target) else {
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
        let codings = headers.filter { $0.name == "transfer-encoding" }
        if !codings.isEmpty {
            if !lengths.isEmpty { return .failure(status: 400, reason: "Content-Length with Transfer-Encoding") }
            if version == "HTTP/1.0" { return .failure(status: 400, reason: "Transfer-Encoding in HTTP/1.0") }
            guard codings.count == 1, codings[0].value.lowercased() == "chunked" else {
                return .failure(status: 501, reason: "Transfer-Encoding other than chunked is not supported")
            }
        }
        let expectation = headers.first { $0.name == "expect" }?.value.lowercased()
        if let expectation, expectation != "100-continue" || headers.filter({ $0.name == "expect" }).count > 1 {
            return .failure(status: 417, reason: "only Expect: 100-continue is understood")
        }
        // A client that waits for 100 Continue (HTTP/1.1 only) is told to go on only once its
        // headers passed every check above.
        let waitsForContinue = expectation != nil && version == "HTTP/1.1"
        let (path, query) = HTTPParser.split(origin)
        let bodyLimit = limits.body(for: path)
        if !codings.isEmpty {
            switch chunkedBody(buffer, from: cursor, limit: bodyLimit) {
            case .needMore:
                return waitsForContinue && cursor == buffer.endIndex ? .expectsContinue : .needMore
            case .failure(let status, let reason):
                return .failure(status: status, reason: reason)
            case .body(let body, let end):
                let request = HTTPRequest(method: method, path: path, query: query, version: version, headers: headers, body: body)
                return .request(request, consumed: end - start)
            }
        }
        var bodyLength = 0
        if let length = lengths.first {
            guard !length.value.isEmpty, length.value.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), length.value.utf8.count <= 10,
                  let parsed = Int(length.value)
            else { return .failure(status: 400, reason: "malformed Content-Length") }
            bodyLength = parsed
        }
        if bodyLength > bodyLimit { return .failure(status: 413, reason: "body over \(bodyLimit) bytes") }
        guard buffer.endIndex - cursor >= bodyLength else {
            return waitsForContinue && cursor == buffer.endIndex ? .expectsContinue : .needMore
        }
        let body = Array(buffer[cursor..<(cursor + bodyLength)])

        let request = HTTPRequest(method: method, path: path, query: query, version: version, headers: headers, body: body)
        return .request(request, consumed: cursor + bodyLength - start)
    }

    private enum Chunked {
        case needMore
        case failure(status: Int, reason: String)
        case body([UInt8], end: Int)
    }

    /// A chunked body (RFC 9112 §7.1) from `start`: chunks, the last one, trailers (read and
    /// dropped), each bounded.
    private func chunkedBody(_ buffer: ArraySlice<UInt8>, from start: Int, limit: Int) -> Chunked {
        var body: [UInt8] = []
        var index = start
        let framingLimit = Limits.chunkedFraming(limit)
        while true {
            if index - start > framingLimit { return .failure(status: 413, reason: "chunked body framing over \(framingLimit) bytes") }
            // The size line: hex digits, then optional extensions (ignored), at most 1 KiB.
            guard let end = firstCRLF(buffer, from: index, within: 1024) else {
                return buffer.endIndex - index > 1024 ? .failure(status: 400, reason: "chunk size line too long") : .needMore
            }
            var size = 0, digits = 0
            var position = index
            while position < end, let digit = HTTPParser.hexValue(buffer[position]) {
                if digits == 8 { return .failure(status: 413, reason: "chunk size too large") }
                size = size << 4 | digit
                digits += 1
                position += 1
            }
            guard digits > 0, position == end || buffer[position] == UInt8(ascii: ";") || buffer[position] == 0x20 || buffer[position] == 0x09 else {
                return .failure(status: 400, reason: "malformed chunk size")
            }
            if body.count + size > limit { return .failure(status: 413, reason: "body over \(limit) bytes") }
            index = end + 2
            if size == 0 { break }
            guard buffer.endIndex - index >= size + 2 else { return .needMore }
            guard buffer[index + size] == 0x0D && buffer[index + size + 1] == 0x0A else {
                return .failure(status: 400, reason: "chunk not followed by CRLF")
            }
            body.append(contentsOf: buffer[index..<(index + size)])
            index += size + 2
        }
        // Trailer fields up to the empty line, within the header block's limit.
        let trailersStart = index
        while true {
            guard let end = firstCRLF(buffer, from: index, within: limits.headerBlock) else {
                return buffer.endIndex - trailersStart > limits.headerBlock ? .failure(status: 431, reason: "trailers too large") : .needMore
            }
            if end - trailersStart > limits.headerBlock { return .failure(status: 431, reason: "trailers too large") }
            let empty = end == index
            index = end + 2
            if empty { break }
        }
        return .body(body, end: index)
    }

    private func firstCRLF(_ buffer: ArraySlice<UInt8>, from: Int) -> Int? {
        firstCRLF(buffer, from: from, within: .max)
    }

    /// The first CRLF at or after `from`, looking at most `within` bytes ahead.
    private func firstCRLF(_ buffer: ArraySlice<UInt8>, from: Int, within: Int) -> Int? {
        var index = from
        let stop = within >= buffer.endIndex - from ? buffer.endIndex : from + within + 1
        while index + 1 < stop {
            if buffer[index] == 0x0D && buffer[index + 1] == 0x0A { return index }
            index += 1
        }
        return nil
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// The origin-form of a target: itself when it starts with `/`; for the absolute form
    /// (`http://host/path?q`, which RFC 9112 §3.2.2 says a server must accept) the path and
    /// query after the authority; nil for anything else.
    static func originForm(_ target: String) -> String? {
        if target.hasPrefix("/") { return target }
        let lowered = target.prefix(8).lowercased()
        let schemeLength = lowered.hasPrefix("http://") ? 7 : lowered.hasPrefix("https://") ? 8 : 0
        guard schemeLength > 0 else { return nil }
        let rest = target.dropFirst(schemeLength)
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        guard authorityEnd > rest.startIndex else { return nil }
        let remainder = rest[authorityEnd...]
        if remainder.hasPrefix("#") { return nil }
        return remainder.hasPrefix("/") ? String(remainder) : "/" + remainder
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
