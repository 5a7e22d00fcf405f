import FSWatch
import HomelabCore

/// One message as a target's API takes it (docs/notifications.md), a whole HTTP/1.1 request.
/// The message's key goes with it to every target, so a receiver that sees it twice (the
/// notifier retried after a lost answer) can show it once:
///
/// - webhook: `POST URL`, the message as JSON; `Idempotency-Key` and `X-Homelab-Key`; with a
///   secret, `X-Homelab-Signature: sha256=HEX`, HMAC-SHA256 of the body.
/// - ntfy: JSON publish, `POST URL/` with `topic`, `title`, `message`, `priority` (3, 4, 5),
///   `tags`, `click` and `sequence_id` = the key (ntfy 2.16+ updates a notification of the same
///   sequence instead of adding one); a token file is sent as `Authorization: Bearer`.
/// - Gotify: `POST URL/message` with `X-Gotify-Key`, JSON `title`, `message`, `priority` (4,
///   7, 10) and `extras` (`client::notification.click.url`, `homelab::key`).
enum TargetRequest {
    static func bytes(_ message: NotifyMessage, to target: NotifyTarget, secret: String?) -> [UInt8] {
        var headers: [(String, String)] = [("Idempotency-Key", message.key), ("X-Homelab-Key", message.key)]
        let path: String
        let body: [UInt8]
        switch target.kind {
        case .webhook:
            path = target.url.prefix.isEmpty ? "/" : target.url.prefix
            var object = message.json
            object["pending"] = nil
            body = JSONWriter.encode(.object(object))
            if let secret {
                headers.append(("X-Homelab-Signature", "sha256=" + Digest.hex(Digest.hmacSHA256(key: Array(secret.utf8), message: body))))
            }
        case .ntfy:
            path = target.url.prefix + "/"
            var object: JSONObject = [
                "topic": .string(target.topic ?? ""), "title": .string(message.title), "message": .string(message.body),
                "priority": .int(ntfyPriority(message.severity)), "tags": .array(message.tags.map { .string($0) }),
                "sequence_id": .string(message.key),
            ]
            if let click = message.click { object["click"] = .string(click) }
            body = JSONWriter.encode(.object(object))
            if let secret { headers.append(("Authorization", "Bearer " + secret)) }
        case .gotify:
            path = target.url.prefix + "/message"
            var extras: JSONObject = ["homelab::key": .string(message.key)]
            if let click = message.click { extras["client::notification"] = .object(["click": .object(["url": .string(click)])]) }
            body = JSONWriter.encode(.object([
                "title": .string(message.title), "message": .string(message.body),
                "priority": .int(gotifyPriority(message.severity)), "extras": .object(extras),
            ]))
            if let secret { headers.append(("X-Gotify-Key", secret)) }
        }
        var head = "POST \(path) HTTP/1.1\r\nHost: \(target.url.hostHeader)\r\nUser-Agent: homelab-notifier\r\n"
        head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        for (name, value) in headers { head += "\(name): \(value.filter { $0 != "\r" && $0 != "\n" })\r\n" }
        return Array((head + "\r\n").utf8) + body
    }

    static func ntfyPriority(_ severity: Severity) -> Int {
        switch severity {
        case .info: 3
        case .warning: 4
        case .critical: 5
        }
    }

    static func gotifyPriority(_ severity: Severity) -> Int {
        switch severity {
        case .info: 4
        case .warning: 7
        case .critical: 10
        }
    }
}
