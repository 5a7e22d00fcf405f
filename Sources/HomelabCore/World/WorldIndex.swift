/// `world/index.json`: the last folded seq, that event's receipt time (so a rebuild writes
/// the same bytes), and how many resources of each kind.
public struct WorldIndex: Equatable, Sendable {
    public var seq: Int
    public var generatedAt: String?
    /// Resources per kind, kinds in name order.
    public var byKind: [(kind: String, count: Int)]

    public init(seq: Int, generatedAt: String?, byKind: [(kind: String, count: Int)]) {
        self.seq = seq
        self.generatedAt = generatedAt
        self.byKind = byKind.sorted { $0.kind < $1.kind }
    }

    public var resources: Int { byKind.reduce(0) { $0 + $1.count } }

    public var byKindJSON: JSONObject { JSONObject(byKind.map { (key: $0.kind, value: .int($0.count)) }) }

    public var bytes: [UInt8] {
        JSONWriter.encode(.object(["seq": .int(seq), "generatedAt": generatedAt.map(JSONValue.string) ?? .null, "byKind": .object(byKindJSON)])) + [0x0A]
    }

    public static func read(_ path: String) -> WorldIndex? {
        guard let object = FileContents.object(path), let seq = object["seq"]?.int else { return nil }
        let byKind = (object["byKind"]?.object ?? [:]).map { (kind: $0.key, count: $0.value.int ?? 0) }
        return WorldIndex(seq: seq, generatedAt: object["generatedAt"]?.string, byKind: byKind)
    }

    public static func == (a: WorldIndex, b: WorldIndex) -> Bool {
        a.seq == b.seq && a.generatedAt == b.generatedAt && a.byKind.elementsEqual(b.byKind) { $0 == $1 }
    }
}
