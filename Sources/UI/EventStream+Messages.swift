import HomelabCore

/// The SSE wire format (SPEC §7, docs/ui.md).
extension EventStream {
    /// One message per kind, in a fixed order: the summary first, then what changed.
    func messages(_ kinds: Set<Kind>, paths: [Kind: Set<String>]) -> [UInt8] {
        var messages: [UInt8] = []
        if !kinds.isEmpty { messages += message("summary", data: ui.summary()) }
        if kinds.contains(.drift) {
            messages += message("drift", data: FileContents.read(ui.root.driftReport).map { Array($0.prefix { $0 != 0x0A }) } ?? Array("{}".utf8))
        }
        for (kind, name) in [(Kind.world, "world"), (.action, "action"), (.output, "output")] where kinds.contains(kind) {
            let changed = (paths[kind] ?? []).sorted().map { path -> JSONValue in
                let file = path.split(separator: "/").last.map(String.init) ?? path
                return .string(kind == .world ? String(path.dropFirst(ui.root.world.count + 1)) : String(file.prefix { $0 != "." }))
            }
            messages += message(name, data: JSONWriter.encode(.object(["changed": .array(changed)])))
        }
        return messages
    }

    static func encode(_ event: LoggedEvent) -> [UInt8] {
        Array("id: \(event.seq)\nevent: event\ndata: ".utf8) + JSONWriter.encode(.object(event.envelope)) + Array("\n\n".utf8)
    }

    func message(_ type: String, data: [UInt8]) -> [UInt8] {
        Array("event: \(type)\ndata: ".utf8) + data.filter { $0 != 0x0A } + Array("\n\n".utf8)
    }
}
