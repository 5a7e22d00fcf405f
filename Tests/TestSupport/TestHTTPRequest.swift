#if canImport(Glibc)
import Glibc
#endif
import FSWatch

/// One whole request read by a test's own HTTP listener (the notification receivers, the
/// agent's test server): just enough framing for requests our own clients send (a head, then
/// a `Content-Length` body), not a second HTTP parser for the product.
public struct TestHTTPRequest {
    public let head: String
    public let body: [UInt8]

    /// The request line's words: method, target, version.
    public var requestLine: [Substring] { head.prefix { $0 != "\r" }.split(separator: " ") }

    /// Header fields by lower-case name.
    public var headers: [String: String] {
        var fields: [String: String] = [:]
        for line in head.split(separator: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingWhitespace()
        }
        return fields
    }

    /// Appends what the connection `fd` has to `buffer`; false once the peer has closed it (or
    /// the read failed), true also when nothing was there yet.
    public static func receive(_ fd: Int32, into buffer: inout [UInt8]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 {
            buffer.append(contentsOf: chunk[0..<n])
            return true
        }
        return n < 0 && Errno.current == .wouldBlock
    }

    /// Takes the first whole request off the front of `buffer`; nil while it is incomplete.
    public static func take(from buffer: inout [UInt8]) -> TestHTTPRequest? {
        guard let end = buffer.indices.first(where: { index in
            index + 3 < buffer.count && buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13 && buffer[index + 3] == 10
        }) else { return nil }
        let head = String(decoding: buffer[0..<end], as: UTF8.self)
        let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingWhitespace()) } ?? 0
        guard buffer.count >= end + 4 + length else { return nil }
        let request = TestHTTPRequest(head: head, body: Array(buffer[(end + 4)..<(end + 4 + length)]))
        buffer.removeFirst(end + 4 + length)
        return request
    }
}
