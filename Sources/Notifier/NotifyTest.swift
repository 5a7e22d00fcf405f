import FSWatch
import HomelabCore

/// `homelab notify test TARGET`: one message straight to one target, on a loop of its own,
/// and the target's answer — not through the outbox: the operator wants to know now.
public enum NotifyTest {
    public static func send(to target: NotifyTarget, root: RuntimeRoot, publicURL: String?, timeout: Duration = .seconds(10)) throws -> Result<Int, HTTPClientError> {
        let reactor = try Reactor()
        defer { reactor.shutdown() }
        let client = HTTPClient(host: target.url.host, port: target.url.port, reactor: reactor, timeout: timeout)
        let now = Timestamp.now()
        let message = NotifyMessage(key: NotifyMessage.key(rule: "test", subject: target.name, trigger: now.iso8601Milliseconds),
                                    rule: Occurrence.Rule.test.rawValue, severity: .info, title: "Test message from the homelab control plane",
                                    body: "homelab notify test \(target.name) at \(now.iso8601)", click: publicURL, tags: Occurrence.Rule.test.tags,
                                    subjects: ["notify/" + target.name])
        var outcome: Result<Int, HTTPClientError>?
        client.send(TargetRequest.bytes(message, to: target, secret: target.secret(root: root))) { result in
            outcome = result.map(\.status)
        }
        _ = try reactor.run(until: { outcome != nil }, timeout: timeout + .seconds(1))
        client.close()
        return outcome ?? .failure(HTTPClientError(description: "no answer within \(timeout)"))
    }
}
