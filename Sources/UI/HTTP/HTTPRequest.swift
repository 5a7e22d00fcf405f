import HomelabCore

/// One parsed request. Header names are lower-cased; each appears once unless the protocol
/// allows repeats (the parser refuses duplicate `Host` and `Content-Length`).
public struct HTTPRequest: Sendable {
    public let method: String
    /// The path, without the query.
    public let path: String
    public let query: [String: String]
    public let version: String
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]

    public func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value
    }

    /// The token of `Authorization: Bearer TOKEN`, if the request carries one.
    public var bearerToken: String? {
        guard let value = header("authorization"), value.hasPrefix("Bearer ") else { return nil }
        return String(value.dropFirst(7)).trimmingWhitespace()
    }

    /// Whether the connection stays open after the response (HTTP/1.1 unless `close`;
    /// HTTP/1.0 only with `keep-alive`).
    public var keepAlive: Bool {
        // Most requests have no Connection header; those that do list comma-separated tokens.
        // (Token comparison, not substring search: the latter was a tenth of a request's time.)
        guard let connection = header("connection") else { return version != "HTTP/1.0" }
        let tokens = connection.utf8.split(separator: UInt8(ascii: ",")).map { token in
            String(decoding: token.filter { $0 != 0x20 && $0 != 0x09 }.map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 }, as: UTF8.self)
        }
        if version == "HTTP/1.0" { return tokens.contains("keep-alive") }
        return !tokens.contains("close")
    }
}

/// A response: a status, headers, and bytes. (Streams — SSE — take over the connection
/// through the server instead.)
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// The body of the GET this answers runs until the close (a stream): a HEAD answer built
    /// from it carries no `Content-Length`.
    public var lengthUnknown = false

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func text(_ status: Int, _ text: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "text/plain; charset=utf-8")], body: Array((text + "\n").utf8))
    }

    public static func json(_ bytes: [UInt8], status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: bytes)
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 204: "No Content"
        case 302: "Found"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 417: "Expectation Failed"
        case 429: "Too Many Requests"
        case 414: "URI Too Long"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 503: "Service Unavailable"
        default: "Status \(status)"
        }
    }

    /// The bytes on the wire; `head` leaves the body out (a HEAD answer mirrors GET's
    /// headers). `common` is what every answer carries (Date, security headers), ended lines.
    /// An HTTP/1.0 client that asked to keep the connection is told it is kept.
    func encoded(keepAlive: Bool, head: Bool = false, http10: Bool = false, common: [UInt8] = []) -> [UInt8] {
        // Bytes appended into one buffer sized up front: string interpolation here was a
        // measurable share of a /summary request.
        var bytes = statusAndHeaders(reserving: common.count + (head ? 0 : body.count))
        bytes.append(contentsOf: common)
        // 1xx and 204 have no content, so no Content-Length (RFC 9110 §8.6).
        if !lengthUnknown && status != 204 && status >= 200 {
            bytes.append(contentsOf: "Content-Length: ".utf8)
            bytes.append(contentsOf: String(body.count).utf8)
            bytes.append(contentsOf: "\r\n".utf8)
        }
        if !keepAlive {
            bytes.append(contentsOf: "Connection: close\r\n".utf8)
        } else if http10 {
            bytes.append(contentsOf: "Connection: keep-alive\r\n".utf8)
        }
        bytes.append(contentsOf: "\r\n".utf8)
        if !head && status != 204 { bytes.append(contentsOf: body) }
        return bytes
    }

    /// The head of a stream: status and headers, no length (the body runs until the close).
    func encodedStreamHead(common: [UInt8] = []) -> [UInt8] {
        var bytes = statusAndHeaders(reserving: common.count)
        bytes.append(contentsOf: common)
        bytes.append(contentsOf: "\r\n".utf8)
        return bytes
    }

    /// The status line and the headers, each line ended, with room for `extra` more bytes.
    private func statusAndHeaders(reserving extra: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(128 + headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 } + extra)
        bytes.append(contentsOf: "HTTP/1.1 ".utf8)
        bytes.append(contentsOf: String(status).utf8)
        bytes.append(0x20)
        bytes.append(contentsOf: HTTPResponse.reason(status).utf8)
        bytes.append(contentsOf: "\r\n".utf8)
        for (name, value) in headers {
            bytes.append(contentsOf: name.utf8)
            bytes.append(contentsOf: ": ".utf8)
            bytes.append(contentsOf: value.utf8)
            bytes.append(contentsOf: "\r\n".utf8)
        }
        return bytes
    }
}
