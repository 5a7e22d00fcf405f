/// One line of the event log (SPEC §4.3): the CloudEvents envelope with every standard field
/// filled in, plus `seq` and `receivedat`.
public struct LoggedEvent: Sendable {
    /// The attribute that holds the time of receipt. CloudEvents attribute names are lower-case
    /// letters and digits only, so the SDKs refuse a line that says `receivedAt`.
    public static let receivedAtAttribute = "receivedat"
    /// What lines written before the name was fixed say instead: still read, never written.
    public static let legacyReceivedAtAttribute = "receivedAt"

    public var seq: Int
    public var id: String
    public var source: String
    public var type: String
    public var subject: String?
    public var time: String
    public var receivedAt: String
    public var data: JSONValue?
    /// The whole line as an object, extension attributes included, in log order.
    public var envelope: JSONObject

    /// Builds the normalized envelope. Member order is fixed (standard attributes, then the
    /// producer's other attributes — `dataschema` and extensions — in their order, then
    /// `data` or `data_base64`, `seq`, `receivedat`), so the same input always makes the same bytes.
    public init(seq: Int, id: String, source: String, type: String, subject: String?, time: String,
                receivedAt: String, data: JSONValue?, extensions: [(key: String, value: JSONValue)] = [],
                dataContentType: String? = nil, dataBase64: String? = nil) {
        self.seq = seq
        self.id = id
        self.source = source
        self.type = type
        self.subject = subject
        self.time = time
        self.receivedAt = receivedAt
        self.data = data
        var members: [(key: String, value: JSONValue)] = [
            ("specversion", .string("1.0")), ("id", .string(id)), ("source", .string(source)), ("type", .string(type)),
        ]
        members.reserveCapacity(extensions.count + 10)
        if let subject { members.append(("subject", .string(subject))) }
        members.append(("time", .string(time)))
        if let dataContentType { members.append(("datacontenttype", .string(dataContentType))) }
        members.append(contentsOf: extensions)
        if let data { members.append(("data", data)) }
        if let dataBase64 { members.append(("data_base64", .string(dataBase64))) }
        members.append(("seq", .int(seq)))
        members.append((Self.receivedAtAttribute, .string(receivedAt)))
        envelope = JSONObject(members)
    }

    /// Reads a line back from the log, old (`receivedAt`) or new; nil when it is not a log line.
    public init?(line: UnsafeBufferPointer<UInt8>) {
        guard let object = (try? JSONParser.parse(line, maxDepth: JSONParser.defaultMaxDepth + 1))?.object,
              let seq = object["seq"]?.int, let id = object["id"]?.string, let source = object["source"]?.string,
              let type = object["type"]?.string, let time = object["time"]?.string,
              let receivedAt = (object[Self.receivedAtAttribute] ?? object[Self.legacyReceivedAtAttribute])?.string
        else { return nil }
        self.seq = seq
        self.id = id
        self.source = source
        self.type = type
        self.subject = object["subject"]?.string
        self.time = time
        self.receivedAt = receivedAt
        self.data = object["data"]
        self.envelope = object
    }

    /// `source NUL id`: what identifies an event (CloudEvents), and what de-duplication keys on.
    public static func key(source: String, id: String) -> String { source + "\u{0}" + id }

    public var key: String { LoggedEvent.key(source: source, id: id) }

    /// The log line, newline included.
    public var line: [UInt8] {
        var writer = JSONWriter(reservingCapacity: 512)
        writer.write(.object(envelope))
        return writer.bytes + [0x0A]
    }
}
