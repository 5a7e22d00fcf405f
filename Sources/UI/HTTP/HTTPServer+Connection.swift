#if canImport(Glibc)
import Glibc
#endif
import FSWatch

extension HTTPServer {
    /// One client connection.
    public final class Connection {
        private unowned let server: HTTPServer
        private var token: Reactor.Token?
        private var input: [UInt8] = []
        private var output: [UInt8] = []
        private var closeAfterWrite = false
        /// The client shut its side down: what it sent is still answered, in full, then closed.
        private var inputEnded = false
        /// `100 Continue` went out for the request at the head of `input`.
        private var sentContinue = false
        /// The deadline running is a header block's (not the idle timeout).
        private var headerClock = true
        private var deadline: LoopTimer?
        private var sendTimer: LoopTimer?
        private var lastProgress = MonotonicTime.now()
        /// Set once a handler took the connection over for a stream.
        public private(set) var streaming = false
        /// Called when a streaming connection ends.
        public var onClose: (() -> Void)?
        /// Called once queued output that reached `drainThreshold` has been written down below
        /// it — never from inside `send`, so an owner may refill from the callback.
        public var onDrained: (() -> Void)?
        public var drainThreshold = 256 << 10
        private var reachedThreshold = false
        /// The most bytes ever queued at once (what back-pressure kept it to).
        public private(set) var maxPendingBytes = 0
        /// Set when the send timeout ended the connection.
        public private(set) var timedOutSending = false
        private let peer: sockaddr_in
        /// `IP:PORT` of the client (formatted when asked: only approvals and warnings need it).
        public var remoteAddress: String { Socket.describe(peer) }
        /// The client's IPv4 address, what per-peer limits count by.
        public var peerAddress: UInt32 { peer.sin_addr.s_addr }
        /// The client's IP without the port (for throttling and logs).
        public var remoteHost: String { String(remoteAddress.prefix { $0 != ":" }) }
        /// Since when nothing has been in flight: the first to go when connections run out.
        private(set) var idleSince = MonotonicTime.now()
        /// Waiting for a request, with nothing half-read or unsent.
        var isIdle: Bool { isWaiting && input.isEmpty }
        /// Waiting on the client for (the rest of) a request, with nothing to write.
        var isWaiting: Bool { token != nil && !streaming && awaiting == nil && output.isEmpty && !closeAfterWrite }
        /// The request whose answer the handler gives later (`answerLater`/`respond`), as it
        /// must be framed; no further request is answered until then, so answers keep their order.
        private var awaiting: (keepAlive: Bool, head: Bool, http10: Bool)?
        private var willAnswer = false
        /// Nagle's algorithm off, once the connection carries more than one answer.
        private var noDelay = false

        init(fd: Int32, peer: sockaddr_in, server: HTTPServer) throws {
            self.server = server
            self.peer = peer
            token = try server.reactor.register(FileDescriptor(owning: fd), label: "http", interest: .readable) { [unowned self] readiness in
                ready(readiness)
            }
            deadline = server.reactor.timer { [unowned self] in timedOut() }
            deadline?.schedule(after: server.settings.headerDeadline)
        }

        /// Bytes waiting to be written (for back-pressure on streams).
        public var pendingBytes: Int { output.count }
        public var isOpen: Bool { token != nil }

        /// Takes the connection over: the handler writes to it with `send` from now on.
        public func stream(headers: HTTPResponse) {
            streaming = true
            deadline?.cancel()
            disableNagle()
            send(headers.encodedStreamHead(common: server.commonHeaders()))
        }

        /// For a long-lived stream whose peer can vanish without a word (a cut link sends no FIN,
        /// and small writes just wait in the send buffer): TCP keepalive probes after a quarter
        /// of `within` idle, and data left unacknowledged for half of it, end the connection
        /// with an error, which closes it like any other.
        public func detectDeadPeer(within: Duration) {
            guard let token, let fd = server.reactor.descriptor(token) else { return }
            let seconds = max(1, Int32(clamping: within.components.seconds))
            func set(_ level: Int32, _ option: Int32, _ value: Int32) {
                var value = value
                setsockopt(fd, level, option, &value, socklen_t(MemoryLayout<Int32>.size))
            }
            set(SOL_SOCKET, SO_KEEPALIVE, 1)
            set(Int32(IPPROTO_TCP), TCP_KEEPIDLE, max(1, seconds / 4))
            set(Int32(IPPROTO_TCP), TCP_KEEPINTVL, max(1, seconds / 8))
            set(Int32(IPPROTO_TCP), TCP_KEEPCNT, 3)
            set(Int32(IPPROTO_TCP), TCP_USER_TIMEOUT, max(1000, seconds * 500))
        }

        /// Called by a handler that returns nil without streaming: it will `respond` later.
        public func answerLater() { willAnswer = true }

        /// The answer to the request the handler deferred with `answerLater`.
        public func respond(_ response: HTTPResponse) {
            guard token != nil, let framing = awaiting else { return }
            awaiting = nil
            answer(response, keepAlive: framing.keepAlive, head: framing.head, http10: framing.http10)
            guard token != nil else { return }
            armDeadline()
            if !closeAfterWrite { handleRequests() }
        }

        public func send(_ bytes: [UInt8]) {
            guard token != nil else { return }
            queue(bytes)
            flush()
            if reachedThreshold && output.count < drainThreshold {
                // Written down at once: no writable event will follow, so tell the owner on
                // the next turn rather than re-enter it from its own `send`.
                server.reactor.runSoon { [weak self] in self?.drained() }
            }
        }

        private func drained() {
            guard token != nil, reachedThreshold, output.count < drainThreshold else { return }
            reachedThreshold = false
            onDrained?()
        }

        /// Progress is checked when the timer fires rather than the timer moved on every write:
        /// a stream writes often, and moving a timer costs more than reading the clock.
        private func armSendTimer(from start: MonotonicTime) {
            if sendTimer == nil {
                sendTimer = server.reactor.timer { [unowned self] in sendTimedOut() }
            }
            sendTimer?.schedule(at: start + server.settings.sendTimeout)
        }

        private func sendTimedOut() {
            guard token != nil, !output.isEmpty else { return }
            if MonotonicTime.now() - lastProgress < server.settings.sendTimeout {
                armSendTimer(from: lastProgress)
                return
            }
            timedOutSending = true
            abort()
        }

        /// Adds to what is waiting to be written; into an empty queue without a copy.
        private func queue(_ bytes: [UInt8]) {
            if output.isEmpty { output = bytes } else { output += bytes }
            maxPendingBytes = max(maxPendingBytes, output.count)
            server.maxQueuedBytes = max(server.maxQueuedBytes, output.count)
            if output.count >= drainThreshold { reachedThreshold = true }
        }

        /// Drops the connection and whatever is still queued for it (a reset, not a close
        /// that waits for a peer that does not read).
        public func abort() {
            if let token, let fd = server.reactor.descriptor(token) {
                var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
            }
            close()
        }

        public func close() {
            guard let token else { return }
            server.reactor.close(token)
            self.token = nil
            deadline?.cancel()
            deadline = nil
            sendTimer?.cancel()
            sendTimer = nil
            onDrained = nil
            server.closed(self)
            onClose?()
            onClose = nil
        }

        private func ready(_ readiness: Readiness) {
            if readiness.contains(.readable) || readiness.contains(.hangup) { readInput() }
            if token != nil && readiness.contains(.writable) {
                flush()
                // Requests read before the pause are answered once their answers fit again.
                if !streaming && !input.isEmpty && !outputFull { handleRequests() }
                // A deadline that fired while the client owed us a read starts again.
                if !streaming && output.isEmpty && deadline?.isScheduled == false { armDeadline() }
                drained()
            }
        }

        /// Past this much queued output, no more requests are read or answered: a client that
        /// pipelines without reading its answers holds the server to about this much memory.
        private var outputFull: Bool { output.count >= server.settings.readPauseBytes }

        /// What the loop waits for: input unless the output is full (a stream's input is only
        /// watched for the close); output while some is queued.
        private func updateInterest() {
            guard let token else { return }
            var interest: Interest = []
            if !inputEnded && (streaming || !outputFull) { interest.insert(.readable) }
            if !output.isEmpty { interest.insert(.writable) }
            try? server.reactor.setInterest(interest, for: token)
        }

        private func readInput() {
            guard let token, let fd = server.reactor.descriptor(token) else { return }
            var chunk = [UInt8](repeating: 0, count: 16384)
            while true {
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n > 0 {
                    if !streaming && !closeAfterWrite { input += chunk[0..<n] }
                    if input.count > server.parser.limits.maxRequestBytes {
                        break  // a client sending without reading answers: the parser decides below
                    }
                    // A short read drained the socket: asking again would only hear EAGAIN,
                    // one wasted system call per request. (The poll is level-triggered: data
                    // arriving later wakes the loop again.)
                    if n < chunk.count { break }
                    continue
                }
                if n == 0 && !streaming {
                    // A half close (`shutdown(SHUT_WR)` after the request, as `nc -N` does): the
                    // answers still go out whole, and the connection closes after them.
                    inputEnded = true
                    updateInterest()  // the end of input stays readable: stop asking
                    break
                }
                if n == 0 || (Errno.current != .wouldBlock && Errno.current != .interrupted) {
                    close()  // the peer closed, or the connection broke
                    return
                }
                if Errno.current == .wouldBlock { break }
            }
            if !streaming { handleRequests() }
        }

        /// Answers every complete request in the buffer, in order.
        private func handleRequests() {
            while !closeAfterWrite && !streaming && awaiting == nil && !outputFull {
                let result = server.parser.parse(input[...])
                switch result {
                case .needMore, .expectsContinue:
                    if inputEnded {
                        // Nothing more will come: close once the answers are out.
                        closeAfterWrite = true
                        if output.isEmpty { close() }
                        return
                    }
                    if case .expectsContinue = result, !sentContinue {
                        sentContinue = true
                        queue(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
                        flush()
                    }
                    // The first bytes of a request start its header deadline, whether they come
                    // on a fresh connection or after an idle spell on a kept one.
                    if !input.isEmpty && !headerClock {
                        headerClock = true
                        deadline?.schedule(after: server.settings.headerDeadline)
                    }
                    return
                case .failure(let status, let reason):
                    answer(.text(status, reason), keepAlive: false, head: false)
                    return
                case .request(let request, let consumed):
                    input.removeFirst(consumed)
                    idleSince = .now()
                    sentContinue = false
                    let keepAlive = request.keepAlive
                    guard let response = server.handler(request, self) else {
                        if willAnswer {
                            // Answered later; meanwhile no header deadline runs for the next one.
                            willAnswer = false
                            awaiting = (keepAlive, request.method == "HEAD", request.version == "HTTP/1.0")
                            deadline?.cancel()
                        }
                        return  // streaming now, or answered later
                    }
                    answer(response, keepAlive: keepAlive, head: request.method == "HEAD", http10: request.version == "HTTP/1.0")
                    armDeadline()
                }
            }
        }

        /// The next request's header block gets its own deadline (from its first byte); an
        /// idle keep-alive connection gets the idle timeout.
        private func armDeadline() {
            headerClock = !input.isEmpty
            deadline?.schedule(after: input.isEmpty ? server.settings.idleTimeout : server.settings.headerDeadline)
        }

        private func answer(_ response: HTTPResponse, keepAlive: Bool, head: Bool, http10: Bool = false) {
            queue(response.encoded(keepAlive: keepAlive, head: head, http10: http10, common: server.commonHeaders()))
            if keepAlive { disableNagle() } else { closeAfterWrite = true }
            flush()
        }

        /// A single answer goes out in one `send`, which Nagle never delays; a second one (keep-alive) or a
        /// stream of small events could wait for the peer's delayed ACK. So the option is set
        /// only on connections that will carry more than one write, as nginx does — one system
        /// call fewer for each `Connection: close` request.
        private func disableNagle() {
            guard !noDelay, let token, let fd = server.reactor.descriptor(token) else { return }
            noDelay = true
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        }

        private func flush() {
            guard let token, let fd = server.reactor.descriptor(token) else { return }
            var wrote = false
            defer { if wrote { lastProgress = .now() } }
            while !output.isEmpty {
                let n = output.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n > 0 {
                    wrote = true
                    // All of it (the usual case) drops the buffer rather than shifting it.
                    if n == output.count { output = [] } else { output.removeFirst(n) }
                    continue
                }
                if Errno.current == .wouldBlock {
                    updateInterest()
                    if sendTimer?.isScheduled != true {
                        // The output was empty until now: its wait starts here.
                        lastProgress = .now()
                        armSendTimer(from: lastProgress)
                    }
                    return
                }
                if Errno.current == .interrupted { continue }
                close()
                return
            }
            sendTimer?.cancel()
            updateInterest()
            // close() alone sends the FIN (a shutdown first only cost a system call).
            if closeAfterWrite { close() }
        }

        private func timedOut() {
            // With output queued the wait is for the client to read: the send timeout's case.
            if streaming || awaiting != nil || !output.isEmpty { return }
            headerClock = false
            if input.isEmpty {
                close()  // idle keep-alive connection
            } else {
                answer(.text(408, "the request headers took too long"), keepAlive: false, head: false)
            }
        }
    }
}
