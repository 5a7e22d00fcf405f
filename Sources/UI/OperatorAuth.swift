import FSWatch
import HomelabCore

/// Who holds the operator token: the `Authorization: Bearer` header, or the session cookie the
/// page gets by posting the token once. Wrong tokens are logged and throttled per peer address
/// (`GuessThrottle`); sessions expire after `sessionLifetime` and are signed with a key made of
/// the token and `secrets/session-secret`, so deleting or rewriting that file signs every
/// browser out without changing the token.
final class OperatorAuth {
    enum Verdict: Equatable {
        case granted
        /// No credentials, or a session that expired or was revoked: 401, not a guess.
        case missing
        /// A wrong token: 401, logged, counted against the peer.
        case wrong
        /// Too many wrong tokens from this peer: 429 for this many more seconds.
        case throttled(retryAfter: Int)
    }

    static let cookieName = "homelab_session"
    let token: String
    let secretPath: String
    let sessionLifetime: Int
    private let logger: Logger
    private var throttle = GuessThrottle()

    init(token: String, secretPath: String, logger: Logger, sessionLifetime: Int = 12 * 3600) {
        self.token = token
        self.secretPath = secretPath
        self.logger = logger
        self.sessionLifetime = sessionLifetime
    }

    /// The verdict on a request's credentials; a Bearer header is checked before a cookie.
    func check(_ request: HTTPRequest, from connection: HTTPServer.Connection) -> Verdict {
        guard !token.isEmpty else { return .missing }
        if let value = request.header("authorization"), value.hasPrefix("Bearer ") {
            return checkToken(String(value.dropFirst(7)), from: connection)
        }
        for cookie in (request.header("cookie") ?? "").split(separator: ";") {
            let pair = cookie.trimmingWhitespace().split(separator: "=", maxSplits: 1)
            if pair.count == 2 && pair[0] == Self.cookieName { return validSession(String(pair[1])) ? .granted : .missing }
        }
        return .missing
    }

    /// A token as typed or sent: throttled peers are not even compared.
    func checkToken(_ candidate: String, from connection: HTTPServer.Connection) -> Verdict {
        guard !token.isEmpty else { return .missing }
        let host = connection.remoteHost
        let now = MonotonicTime.now()
        if let wait = throttle.blocked(host, now: now) { return .throttled(retryAfter: wait) }
        if Digest.constantTimeEqual(Array(candidate.utf8), Array(token.utf8)) {
            throttle.succeeded(host)
            return .granted
        }
        let blockedFor = throttle.failed(host, now: now)
        logger.warning("a wrong operator token from \(connection.remoteAddress)\(blockedFor.map { ": \(GuessThrottle.threshold) in a minute, refused for \($0) s" } ?? "")")
        return .wrong
    }

    // MARK: Sessions

    /// `EXPIRY.MAC`: the expiry in Unix seconds, and HMAC-SHA256 over it with a key that
    /// changes with the token or the session secret.
    func newSession() throws(SystemError) -> (value: String, maxAge: Int) {
        let secret = try sessionSecret(creating: true) ?? []
        let expiry = Int(Timestamp.now().secondsSinceEpoch) + sessionLifetime
        return ("\(expiry).\(mac(expiry, secret: secret))", sessionLifetime)
    }

    func validSession(_ value: String) -> Bool {
        let parts = value.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, let expiry = Int(parts[0]), expiry > Int(Timestamp.now().secondsSinceEpoch),
              let secret = try? sessionSecret(creating: false)
        else { return false }
        return Digest.constantTimeEqual(Array(parts[1].utf8), Array(mac(expiry, secret: secret).utf8))
    }

    private func mac(_ expiry: Int, secret: [UInt8]) -> String {
        let key = Digest.sha256(Array("homelab-session\u{0}".utf8) + Array(token.utf8) + [0] + secret)
        return Digest.hex(Digest.hmacSHA256(key: key, message: Array(String(expiry).utf8)))
    }

    /// The secret's bytes, read each time (a deleted file takes effect at once); made when
    /// missing only for a new session, so a deletion signs everyone out until the next sign-in.
    private func sessionSecret(creating: Bool) throws(SystemError) -> [UInt8]? {
        if let bytes = FileContents.read(secretPath, limit: 4096), !bytes.isEmpty { return bytes }
        guard creating else { return nil }
        let secret = Digest.randomHex(bytes: 32)
        try AtomicFile.write(secret + "\n", to: secretPath, mode: 0o600)
        logger.info("made a new session secret in \(secretPath)")
        return Array((secret + "\n").utf8)
    }
}

/// Wrong tokens per peer address, in memory: after `threshold` in a minute the peer is refused
/// (429) for 2 s, then twice as long at each further wrong token, up to an hour. A right token
/// clears the peer; other peers are never affected. At most `capacity` peers are remembered,
/// the stalest forgotten first.
struct GuessThrottle {
    static let threshold = 5
    static let window: Duration = .seconds(60)
    static let longest = 3600
    static let capacity = 10_000

    private struct Peer {
        var failures: [MonotonicTime] = []
        var blockedUntil: MonotonicTime?
        var penalty = 1
        var last: MonotonicTime
    }
    private var peers: [String: Peer] = [:]

    /// Seconds the peer must still wait, or nil.
    func blocked(_ host: String, now: MonotonicTime) -> Int? {
        guard let until = peers[host]?.blockedUntil, until > now else { return nil }
        let (seconds, attoseconds) = (until - now).components
        return Int(seconds) + (attoseconds > 0 ? 1 : 0)
    }

    mutating func succeeded(_ host: String) { peers[host] = nil }

    /// Counts a wrong token; returns the seconds of the refusal it started, if it did.
    mutating func failed(_ host: String, now: MonotonicTime) -> Int? {
        if peers[host] == nil && peers.count >= Self.capacity { forgetStalest() }
        var peer = peers[host] ?? Peer(last: now)
        peer.failures = peer.failures.filter { now - $0 < Self.window } + [now]
        peer.last = now
        var blockedFor: Int?
        if peer.failures.count >= Self.threshold {
            peer.penalty = min(peer.penalty * 2, Self.longest)
            peer.blockedUntil = now + .seconds(peer.penalty)
            peer.failures.removeFirst(peer.failures.count - Self.threshold)
            blockedFor = peer.penalty
        }
        peers[host] = peer
        return blockedFor
    }

    private mutating func forgetStalest() {
        let now = MonotonicTime.now()
        peers = peers.filter { now - $0.value.last < Self.window || ($0.value.blockedUntil.map { $0 > now } ?? false) }
        if peers.count >= Self.capacity, let stalest = peers.min(by: { $0.value.last < $1.value.last }) { peers[stalest.key] = nil }
    }
}
