/// A JSON document as parsed, exactly enough to write it back the same way: objects keep
/// their key order, numbers keep their text. That is what makes the world's files the same
/// bytes whether they were folded incrementally or rebuilt from the log.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// The number's text as it appeared (validated against the JSON grammar).
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var object: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }

    public var array: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var int: Int? {
        if case .number(let text) = self { return Int(text) }
        return nil
    }

    public var double: Double? {
        if case .number(let text) = self { return Double(text) }
        return nil
    }

    public var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public subscript(key: String) -> JSONValue? { object?[key] }

    public static func int(_ value: Int) -> JSONValue { .number(String(value)) }

    /// A short name for error messages: "an array", "a string".
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// An object's members in document order. A small object is looked up by a linear scan;
/// a big one (more than `indexThreshold` members) also keeps each key's position, so that
/// looking up every key of a hostile 100,000-key object is linear, not quadratic.
public struct JSONObject: Equatable, Sendable, ExpressibleByDictionaryLiteral, Sequence {
    /// Below this, a scan beats hashing, and most objects here (events, world files) are small.
    static let indexThreshold = 16

    private var storage: [(key: String, value: JSONValue)]
    /// Each key's first position, for big objects only; nil while the object is small.
    private var index: KeyIndex?

    public init(_ members: [(key: String, value: JSONValue)] = []) {
        storage = members
        index = Self.index(of: members)
    }

    /// For the parser, which has already built the index while checking for duplicates.
    init(parsed members: [(key: String, value: JSONValue)], index: KeyIndex?) {
        storage = members
        self.index = index
    }

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements.map { (key: $0.0, value: $0.1) })
    }

    /// Setting it rebuilds the index (linear), so append many members at once, not one by one.
    public var members: [(key: String, value: JSONValue)] {
        get { storage }
        set {
            storage = newValue
            index = Self.index(of: newValue)
        }
    }

    private static func index(of members: [(key: String, value: JSONValue)]) -> KeyIndex? {
        guard members.count > indexThreshold else { return nil }
        var index = KeyIndex(capacity: members.count)
        for (offset, member) in members.enumerated() {
            _ = index.insert(member.key, hash: KeyIndex.hash(member.key), at: offset) { members[$0].key }
        }
        return index
    }

    /// Keys compare as their UTF-8 bytes, in small objects and big ones alike.
    private func position(of key: String) -> Int? {
        if let index { return index.position(of: key, hash: KeyIndex.hash(key)) { storage[$0].key } }
        return storage.firstIndex(where: { $0.key.utf8.elementsEqual(key.utf8) })
    }

    public subscript(key: String) -> JSONValue? {
        get { position(of: key).map { storage[$0].value } }
        set {
            if let index = position(of: key) {
                if let newValue {
                    storage[index].value = newValue
                } else {
                    storage.remove(at: index)
                    self.index = Self.index(of: storage)
                }
            } else if let newValue {
                storage.append((key: key, value: newValue))
                if self.index != nil {
                    _ = self.index!.insert(key, hash: KeyIndex.hash(key), at: storage.count - 1) { storage[$0].key }
                } else {
                    self.index = Self.index(of: storage)
                }
            }
        }
    }

    public var count: Int { storage.count }
    public var isEmpty: Bool { storage.isEmpty }
    public var keys: [String] { storage.map(\.key) }

    public func makeIterator() -> IndexingIterator<[(key: String, value: JSONValue)]> { storage.makeIterator() }

    public static func == (a: JSONObject, b: JSONObject) -> Bool {
        a.storage.count == b.storage.count && zip(a.storage, b.storage).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}
