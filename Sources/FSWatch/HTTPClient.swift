#if canImport(Glibc)
import Glibc
#endif

/// Why a request got no response.
public struct HTTPClientError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(description: String) { self.description = description }
}

/// A non-blocking HTTP/1.1 client on the loop, for one server: one keep-alive connection,
/// opened when a request needs it, one request at a time (no pipelining), each with a
/// deadline that covers the connect. An idle connection the server closes is simply dropped;
/// the next request opens another. A request may also be a stream (`stream`): the body of its
/// 200 is handed over as it arrives, for as long as the server keeps it open.
public final class HTTPClient {
    /// How a streamed response is read: once its 200 head arrived, `opened`; then its body
    /// as it comes. A stream silent for longer than `idle` is a lost link (the server says
    /// something, a comment at least, more often than that).
    public struct Streaming {
        public let idle: Duration
        public let opened: (Response) -> Void
        public let body: ([UInt8]) -> Void

        public init(idle: Duration, opened: @escaping (Response) -> Void, body: @escaping ([UInt8]) -> Void) {
            self.idle = idle
            self.opened = opened
            self.body = body
        }
    }

    private enum State {
        case closed
        case connecting
        case sending
        case receiving
        case idle
    }

    public let host: String
    public let port: UInt16
    public let timeout: Duration
    private let reactor: Reactor
    private var token: Reactor.Token?
    private var state = State.closed
    private var output: [UInt8] = []
    private var written = 0
    private var parser = HTTPResponseParser()
    private var completion: ((Result<Response, HTTPClientError>) -> Void)?
    private var streaming: Streaming?
    /// The stream's 200 arrived: its deadline is now the idle one.
    private var streamOpen = false
    private var deadline: LoopTimer?
    private var readBuffer = [UInt8](repeating: 0, count: 64 << 10)
    /// Connections opened: the first request after each one is logged by the transport.
    public private(set) var connections = 0

    public init(host: String, port: UInt16, reactor: Reactor, timeout: Duration) {
        self.host = host
        self.port = port
        self.reactor = reactor
        self.timeout = timeout
    }

    /// Whether a connection is open (idle or in use).
    public var isConnected: Bool { token != nil && state != .connecting }
    public var isBusy: Bool { completion != nil }

    /// Sends `request` (a whole HTTP/1.1 request) and calls `completion` once with the
    /// response or the reason there is none.
    public func send(_ request: [UInt8], completion: @escaping (Result<Response, HTTPClientError>) -> Void) {
        start(request, streaming: nil, completion: completion)
    }

    /// Sends `request` and reads the body of a 200 as a stream (`streaming`); `completion`
    /// comes once, when the stream ends or fails (with the whole response if it was not a 200).
    public func stream(_ request: [UInt8], _ streaming: Streaming, completion: @escaping (Result<Response, HTTPClientError>) -> Void) {
        start(request, streaming: streaming, completion: completion)
    }

    private func start(_ request: [UInt8], streaming: Streaming?, completion: @escaping (Result<Response, HTTPClientError>) -> Void) {
        precondition(self.completion == nil, "one request at a time")
        self.completion = completion
        self.streaming = streaming
        streamOpen = false
        output = request
        written = 0
        parser = HTTPResponseParser()
        if deadline == nil {
            deadline = reactor.timer { [unowned self] in
                fail(streamOpen ? "the stream was silent for \(streaming?.idle ?? timeout)" : "no response within \(timeout)")
            }
        }
        deadline!.schedule(after: timeout)
        if token == nil {
            connect()
        } else {
            state = .sending
            write()
        }
    }

    /// Closes the connection; a request in flight gets no completion.
    public func close() {
        completion = nil
        streaming = nil
        deadline?.cancel()
        disconnect()
    }

    private func disconnect() {
        if let token { reactor.close(token) }
        token = nil
        state = .closed
    }

    private func connect() {
        do {
            let socket = try Socket.connect(host: host, port: port)
            token = try reactor.register(socket, label: "http \(host):\(port)", interest: .writable) { [unowned self] readiness in
                ready(readiness)
            }
            state = .connecting
        } catch {
            fail("cannot connect to \(host):\(port): \(error)")
        }
    }

    private func ready(_ readiness: Readiness) {
        switch state {
        case .closed: return
        case .connecting:
            guard let fd = token.flatMap(reactor.descriptor) else { return }
            if let error = Socket.pendingError(fd) { return fail("cannot connect to \(host):\(port): \(error)") }
            connections += 1
            state = .sending
            write()
        case .sending: write()
        case .receiving: receive()
        case .idle:
            // The server closed a keep-alive connection (or said something unasked): drop it.
            disconnect()
        }
    }

    private func write() {
        guard let token, let fd = reactor.descriptor(token) else { return }
        while written < output.count {
            let n = output.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + written, $0.count - written, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                let errno = Errno.current
                if errno == .interrupted { continue }
                if errno == .wouldBlock {
                    try? reactor.setInterest(.writable, for: token)
                    return
                }
                return fail("sending to \(host):\(port): \(errno)")
            }
            written += n
        }
        output = []
        state = .receiving
        do {
            try reactor.setInterest(.readable, for: token)
        } catch {
            fail("\(error)")
        }
    }

    private func receive() {
        guard let token, let fd = reactor.descriptor(token) else { return }
        while true {
            let n = readBuffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                let errno = Errno.current
                if errno == .interrupted { continue }
                if errno == .wouldBlock { return }
                return fail("reading from \(host):\(port): \(errno)")
            }
            let step = n == 0 ? parser.finish() : parser.feed(readBuffer[0..<n])
            if let streaming, !passStream(streaming) { return }
            switch step {
            case .needMore:
                if n == 0 { return fail("the connection closed mid-response") }
                continue
            case .invalid(let reason):
                return fail(reason)
            case .done(let response):
                if response.keepAlive {
                    state = .idle
                } else {
                    disconnect()
                }
                return finish(.success(response))
            }
        }
    }

    /// Hands a stream's news over; false when a handler closed the client meanwhile.
    private func passStream(_ streaming: Streaming) -> Bool {
        guard let head = parser.response, head.status == 200 else { return true }
        if !streamOpen {
            streamOpen = true
            streaming.opened(head)
            guard completion != nil else { return false }
        }
        deadline?.schedule(after: streaming.idle)
        let bytes = parser.takeBody()
        if !bytes.isEmpty { streaming.body(bytes) }
        return completion != nil
    }

    private func fail(_ reason: String) {
        disconnect()
        finish(.failure(HTTPClientError(description: reason)))
    }

    private func finish(_ result: Result<Response, HTTPClientError>) {
        deadline?.cancel()
        parser = HTTPResponseParser()
        streaming = nil
        guard let completion else { return }
        self.completion = nil
        completion(result)
    }
}
