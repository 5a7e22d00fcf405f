@testable import Agent
import FSWatch
import Testing

/// The client's response parser: the framings a server may choose, and what it refuses.
@Suite(.timeLimit(.minutes(1))) struct HTTPResponseParserTests {
    private func parse(_ pieces: [String]) -> HTTPResponseParser.Step {
        var parser = HTTPResponseParser()
        var step = HTTPResponseParser.Step.needMore
        for piece in pieces { step = parser.feed(Array(piece.utf8)[...]) }
        return step
    }

    private func response(_ step: HTTPResponseParser.Step) -> HTTPClient.Response? {
        if case .done(let response) = step { return response }
        return nil
    }

    @Test func contentLengthInPieces() throws {
        let step = parse(["HTTP/1.1 200 OK\r\nContent-Ty", "pe: application/json\r\nContent-Length: 5\r\n\r\nab", "cde"])
        let done = try #require(response(step))
        #expect(done.status == 200 && String(decoding: done.body, as: UTF8.self) == "abcde" && done.keepAlive)
        #expect(done.header("content-type") == "application/json")
        if case .needMore = parse(["HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab"]) {} else { Issue.record("a short body is not complete") }
    }

    @Test func chunkedWithExtensionsAndTrailers() throws {
        let step = parse(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nWiki\r\n", "5\r\npedia\r\n0\r\nTrailer: 1\r\n\r\n"])
        #expect(try #require(response(step)).body == Array("Wikipedia".utf8))
    }

    @Test func interimResponsesAreSkippedAndCloseEndsTheConnection() throws {
        let step = parse(["HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"])
        let done = try #require(response(step))
        #expect(done.status == 503 && !done.keepAlive)
    }

    @Test func aBodyUntilTheCloseAndACutShortOne() throws {
        var parser = HTTPResponseParser()
        _ = parser.feed(Array("HTTP/1.0 200 OK\r\n\r\n{\"a\":1}".utf8)[...])
        #expect(try #require(response(parser.finish())).body == Array(#"{"a":1}"#.utf8))
        var cut = HTTPResponseParser()
        _ = cut.feed(Array("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{".utf8)[...])
        if case .invalid = cut.finish() {} else { Issue.record("a cut-short body is not a response") }
    }

    @Test func garbageIsRefused() {
        for text in ["SSH-2.0-OpenSSH\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                     "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"] {
            if case .invalid = parse([text]) {} else { Issue.record("accepted: \(text)") }
        }
    }

    /// A stream (the action stream): the body is drained as it comes, the buffer stays small.
    @Test func aStreamIsReadAsItComesInBoundedMemory() throws {
        var parser = HTTPResponseParser()
        _ = parser.feed(Array("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)[...])
        #expect(parser.response?.status == 200)
        var decoder = SSEDecoder()
        var messages: [SSEDecoder.Message] = []
        for index in 0..<2000 {
            let event = index % 2 == 0 ? ": keep-alive\n\n" : "event: offer\r\ndata: {\"id\":\"a\(index)\"}\r\n\r\n"
            let chunk = String(event.utf8.count, radix: 16) + "\r\n" + event + "\r\n"
            for piece in [chunk.prefix(5), chunk.dropFirst(5)] {
                if case .needMore = parser.feed(Array(piece.utf8)[...]) {} else { Issue.record("a stream ended") }
                messages += decoder.feed(parser.takeBody())
            }
        }
        #expect(messages.count == 1000 && messages.last == SSEDecoder.Message(event: "offer", data: #"{"id":"a1999"}"#))
        if case .done = parser.feed(Array("0\r\n\r\n".utf8)[...]) {} else { Issue.record("the last chunk ends it") }
    }

    @Test func serverSentEventsJoinDataLinesAndSkipComments() {
        var decoder = SSEDecoder()
        #expect(decoder.feed(Array(": hi\ndata: a\ndata:b\nid: 7\n".utf8)).isEmpty)
        #expect(decoder.feed(Array("\r".utf8)) == [SSEDecoder.Message(event: "message", data: "a\nb")])
        #expect(decoder.feed(Array("\nevent: x\n\n".utf8)).isEmpty)  // an event without data is not dispatched
    }
}
