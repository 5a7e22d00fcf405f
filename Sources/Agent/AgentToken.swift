import HomelabCore

/// The node's token for `POST /api/events`: `HOMELAB_AGENT_TOKEN`, or the file
/// `HOMELAB_AGENT_TOKEN_FILE` (re-read on SIGHUP and after a 401, so a rotated file is taken
/// without a restart).
public struct AgentToken: Sendable {
    public private(set) var value: String
    public let file: String?

    public init(value: String) {
        self.value = value
        file = nil
    }

    /// The token in `file`; nil when it cannot be read or is empty.
    public init?(file: String) {
        guard let value = Self.read(file) else { return nil }
        self.value = value
        self.file = file
    }

    mutating func reload() {
        if let file, let value = Self.read(file) { self.value = value }
    }

    private static func read(_ file: String) -> String? {
        guard let text = TokenFile.read(file), isHeaderSafe(text) else { return nil }
        return text
    }

    /// Printable ASCII without spaces: nothing that could end or bend the request's header.
    static func isHeaderSafe(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F }
    }
}

public enum AgentVersion {
    /// Reported in the node's facts (`agentVersion`) and the User-Agent header.
    public static let current = "0.14.0"
}
