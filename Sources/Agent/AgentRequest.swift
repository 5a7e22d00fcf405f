import FSWatch
import HomelabCore

/// One request of the agent to the VPS's UI (SPEC §11): the head every one carries — the
/// host, the agent's version, the node's token — then the body. The events' POST, the action
/// stream's GET and the action requests are all written here.
enum AgentRequest {
    static func bytes(_ method: String, _ target: String, server: ServerURL, token: AgentToken,
                      accept: String = "application/json", contentType: String? = nil, body: [UInt8] = []) -> [UInt8] {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: \(server.hostHeader)\r\nUser-Agent: homelab-agent/\(AgentVersion.current)\r\n"
            + "Authorization: Bearer \(token.value)\r\n"
        if let contentType { head += "Content-Type: \(contentType)\r\n" }
        head += "Accept: \(accept)\r\n"
        if method != "GET" { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        return Array(head.utf8) + body
    }

    /// What an error body says, as `: REASON` for a log line (JSON `error`/`reason`, or text).
    static func reason(_ body: [UInt8]) -> String {
        guard !body.isEmpty else { return "" }
        if let object = (try? JSONParser.parse(body))?.object, let text = object["error"]?.string ?? object["reason"]?.string {
            return ": " + text
        }
        let text = String(decoding: body.prefix(200), as: UTF8.self).trimmingWhitespace()
        return text.isEmpty ? "" : ": " + text
    }
}
