/// `http://HOST[:PORT][/PREFIX]`: where `HTTPClient` talks to — the VPS UI's address as the
/// agent posts to it (`HOMELAB_SERVER`, `PREFIX/api/events`), a notify target. Only http: TLS
/// belongs to the network (Tailscale) or a proxy.
public struct ServerURL: Equatable, Sendable, CustomStringConvertible {
    public let host: String
    public let port: UInt16
    /// The path before `/api/events`, without a trailing slash ("" for none).
    public let prefix: String

    public init(host: String, port: UInt16, prefix: String) {
        self.host = host
        self.port = port
        self.prefix = prefix
    }

    /// Nil with the reason when `text` is not such a URL.
    public static func parse(_ text: String) -> Result<ServerURL, ServerURLError> {
        guard text.hasPrefix("http://") else {
            return .failure(ServerURLError(text.hasPrefix("https://")
                ? "only http:// is spoken; put the server behind Tailscale or reach a TLS proxy through a local http:// one"
                : "\"\(text)\" is not http://HOST[:PORT][/PREFIX]"))
        }
        let rest = text.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        var prefix = String(rest.dropFirst(authority.count))
        while prefix.hasSuffix("/") { prefix.removeLast() }
        if prefix.contains("?") || prefix.contains("#") { return .failure(ServerURLError("\"\(text)\": a query or fragment has no place in the server's URL")) }
        var host = Substring(authority)
        var port: UInt16 = 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return .failure(ServerURLError("\"\(text)\": an unclosed [IPv6] host")) }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let parsed = UInt16(after.dropFirst()), parsed > 0 else { return .failure(ServerURLError("\"\(text)\": a bad port")) }
                port = parsed
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let parsed = UInt16(authority[authority.index(after: colon)...]), parsed > 0 else { return .failure(ServerURLError("\"\(text)\": a bad port")) }
            port = parsed
        }
        guard !host.isEmpty, !host.contains("@") else { return .failure(ServerURLError("\"\(text)\" names no host (credentials go in a token file)")) }
        return .success(ServerURL(host: String(host), port: port, prefix: prefix))
    }

    /// The request target of `POST /api/events`.
    public var eventsPath: String { prefix + "/api/events" }
    /// The `Host` header.
    public var hostHeader: String { (host.contains(":") ? "[\(host)]" : host) + (port == 80 ? "" : ":\(port)") }
    public var description: String { "http://" + hostHeader + prefix }
}

/// Why a server URL was refused, in a few words.
public struct ServerURLError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
