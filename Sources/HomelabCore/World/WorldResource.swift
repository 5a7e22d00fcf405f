/// One resource as the world holds it (SPEC §4.2) and its file `world/KIND/NAME.json`. The
/// observer writes these files; the supervisor and the UI read them. `observed` and the
/// lifecycle steps stay encoded: the observer writes them far more often than anyone parses
/// them, and encoding once is what keeps an incremental fold and a rebuild byte-identical.
public struct WorldResource: Equatable, Sendable {
    /// The `observed` object, encoded.
    public var observed: [UInt8]
    public var lastSeen: String
    public var source: String
    public var seq: Int
    /// For actions: each lifecycle step (step, actor, time, seq), encoded.
    public var lifecycle: [[UInt8]]?

    public init(observed: [UInt8], lastSeen: String, source: String, seq: Int, lifecycle: [[UInt8]]? = nil) {
        self.observed = observed
        self.lastSeen = lastSeen
        self.source = source
        self.seq = seq
        self.lifecycle = lifecycle
    }

    /// `observed`, parsed.
    public var observedObject: JSONObject { (try? JSONParser.parse(observed))?.object ?? [:] }

    /// The file's bytes: `{"kind","name","observed","lastSeen","source","seq"[,"lifecycle"]}`.
    public func fileBytes(_ subject: Subject) -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: observed.count + 160)
        writer.appendRaw("{\"kind\":")
        writer.write(string: subject.kind)
        writer.appendRaw(",\"name\":")
        writer.write(string: subject.name)
        writer.appendRaw(",\"observed\":")
        writer.appendRaw(observed)
        writer.appendRaw(",\"lastSeen\":")
        writer.write(string: lastSeen)
        writer.appendRaw(",\"source\":")
        writer.write(string: source)
        writer.appendRaw(",\"seq\":\(seq)")
        if let lifecycle {
            writer.appendRaw(",\"lifecycle\":[")
            for (index, step) in lifecycle.enumerated() {
                if index > 0 { writer.appendRaw(",") }
                writer.appendRaw(step)
            }
            writer.appendRaw("]")
        }
        writer.appendRaw("}\n")
        return writer.bytes
    }

    /// Reads a file back; nil when it is not a world resource file.
    public static func parseFile(_ bytes: [UInt8]) -> (Subject, WorldResource)? {
        guard let object = (try? JSONParser.parse(bytes, maxDepth: JSONParser.defaultMaxDepth + 2))?.object,
              let kind = object["kind"]?.string, let name = object["name"]?.string, let observed = object["observed"],
              let lastSeen = object["lastSeen"]?.string, let source = object["source"]?.string, let seq = object["seq"]?.int
        else { return nil }
        let lifecycle = object["lifecycle"]?.array?.map { JSONWriter.encode($0) }
        return (Subject(kind: kind, name: name),
                WorldResource(observed: JSONWriter.encode(observed), lastSeen: lastSeen, source: source, seq: seq, lifecycle: lifecycle))
    }

    public static func read(_ path: String) -> (Subject, WorldResource)? {
        FileContents.read(path).flatMap(parseFile)
    }
}
