import Testing
@testable import UI

@Suite(.timeLimit(.minutes(2))) struct HTTPRequestTests {
    private func request(_ version: String, _ connection: String?) throws -> HTTPRequest {
        let text = "GET / \(version)\r\nHost: a\r\n" + (connection.map { "Connection: \($0)\r\n" } ?? "") + "\r\n"
        guard case .request(let request, _) = HTTPParser().parse(Array(text.utf8)[...]) else { throw ParseFailed() }
        return request
    }
    struct ParseFailed: Error {}

    @Test(arguments: [
        ("HTTP/1.1", nil, true), ("HTTP/1.1", "close", false), ("HTTP/1.1", "Close", false),
        ("HTTP/1.1", "keep-alive", true), ("HTTP/1.1", "Upgrade, close", false), ("HTTP/1.1", "closed", true),
        ("HTTP/1.0", nil, false), ("HTTP/1.0", "Keep-Alive", true), ("HTTP/1.0", "keep-alive , Upgrade", true), ("HTTP/1.0", "close", false),
    ] as [(String, String?, Bool)])
    func connectionTokensDecideKeepAlive(version: String, connection: String?, expected: Bool) throws {
        #expect(try request(version, connection).keepAlive == expected)
    }

    @Test func encodedResponseIsExact() {
        let response = HTTPResponse(status: 404, headers: [("Content-Type", "text/plain")], body: Array("no\n".utf8))
        #expect(String(decoding: response.encoded(keepAlive: true), as: UTF8.self)
            == "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nno\n")
        #expect(String(decoding: response.encoded(keepAlive: false, head: true), as: UTF8.self)
            == "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\n")
    }
}
