#if canImport(Glibc)
import Glibc
#endif
import FSWatch

/// `state/snapshots/SEQ.jsonl` (SPEC §4.3): the world as the fold of the log up to `seq`, so a
/// rebuild replays only the log after it and retention may remove the segments it covers.
///
/// JSON Lines: a header `{"snapshot":1,"seq","generatedAt","resources","ignoredEvents"}`, then
/// one line per resource holding exactly the bytes of its `world/KIND/NAME.json` (which name
/// their kind and name), in `KIND/NAME` order. Written whole under a hidden name, fsynced and
/// renamed into place, then the folder fsynced (`AtomicFile.write`): a snapshot is a durable
/// record once segments are removed on its word. A file whose resource count does not match
/// its header is not a snapshot (the reader says nil).
public struct WorldSnapshot: Sendable {
    public static let format = 1

    public var seq: Int
    public var generatedAt: String?
    /// Events the fold counted but ignored (types the world does not know), for the status.
    public var ignoredEvents: Int
    public var resources: [(subject: Subject, resource: WorldResource)]

    public init(seq: Int, generatedAt: String?, ignoredEvents: Int, resources: [(subject: Subject, resource: WorldResource)]) {
        self.seq = seq
        self.generatedAt = generatedAt
        self.ignoredEvents = ignoredEvents
        self.resources = resources
    }

    /// `000000001234.jsonl`, the seq zero-padded to 12 digits like a segment's.
    public static func fileName(_ seq: Int) -> String {
        let digits = String(seq)
        return String(repeating: "0", count: max(0, 12 - digits.count)) + digits + ".jsonl"
    }

    /// The snapshots in `folder`, newest (highest seq) first.
    public static func list(in folder: String) -> [(seq: Int, path: String)] {
        listDirectory(folder).compactMap { entry -> (Int, String)? in
            guard entry.kind == .regular, !entry.name.hasPrefix("."), entry.name.hasSuffix(".jsonl"), entry.name.utf8.count == 18,
                  let seq = Int(entry.name.prefix(12)) else { return nil }
            return (seq, folder + "/" + entry.name)
        }.sorted { $0.0 > $1.0 }
    }

    public var bytes: [UInt8] {
        let header: JSONValue = .object([
            "snapshot": .int(Self.format), "seq": .int(seq), "generatedAt": generatedAt.map(JSONValue.string) ?? .null,
            "resources": .int(resources.count), "ignoredEvents": .int(ignoredEvents),
        ])
        var out = JSONWriter.encode(header) + [0x0A]
        out.reserveCapacity(out.count + resources.reduce(0) { $0 + $1.resource.observed.count + 200 })
        for (subject, resource) in resources { out += resource.fileBytes(subject) }
        return out
    }

    /// Writes it durably as `folder/SEQ.jsonl`; returns the path.
    @discardableResult
    public func write(into folder: String) throws(SystemError) -> String {
        let path = folder + "/" + Self.fileName(seq)
        try AtomicFile.write(bytes, to: path, durability: .fileAndFolder)
        return path
    }

    /// Reads a snapshot back; nil when the file is not a whole one.
    public static func read(_ path: String) -> WorldSnapshot? {
        guard let bytes = FileContents.read(path), let end = bytes.firstIndex(of: 0x0A),
              let header = (try? JSONParser.parse(Array(bytes[..<end])))?.object,
              header["snapshot"]?.int == format, let seq = header["seq"]?.int, let count = header["resources"]?.int
        else { return nil }
        var resources: [(subject: Subject, resource: WorldResource)] = []
        resources.reserveCapacity(count)
        var start = end + 1
        while start < bytes.count {
            guard let newline = bytes[start...].firstIndex(of: 0x0A), let (subject, resource) = WorldResource.parseFile(Array(bytes[start..<newline]))
            else { return nil }
            resources.append((subject, resource))
            start = newline + 1
        }
        guard resources.count == count else { return nil }
        return WorldSnapshot(seq: seq, generatedAt: header["generatedAt"]?.string, ignoredEvents: header["ignoredEvents"]?.int ?? 0,
                             resources: resources)
    }
}
