/// A dropped file that passed validation, not yet numbered: what it becomes in the log
/// once the batch gives it a `seq` and a `receivedat`.
public struct InboxEvent {
    public var id: String
    public var source: String
    public var type: String
    public var subject: String?
    public var time: String?
    public var data: JSONValue?
    /// Binary (or pre-serialised) data as the producer's SDK sent it: kept, never decoded.
    public var dataBase64: String?
    public var dataContentType: String?
    /// Every other attribute, in the producer's order: `dataschema` and the extensions.
    public var extensions: [(key: String, value: JSONValue)]

    /// `source NUL id`: what identifies an event (CloudEvents), and what de-duplication keys on.
    public var key: String { LoggedEvent.key(source: source, id: id) }

    /// The event as a CloudEvents JSON object, one line (newline included), its id filled in:
    /// what a producer would have dropped, and what reads back as this same event.
    public var encoded: [UInt8] {
        var members: [(key: String, value: JSONValue)] = [
            ("specversion", .string("1.0")), ("id", .string(id)), ("source", .string(source)), ("type", .string(type)),
        ]
        if let subject { members.append(("subject", .string(subject))) }
        if let time { members.append(("time", .string(time))) }
        if let dataContentType { members.append(("datacontenttype", .string(dataContentType))) }
        members.append(contentsOf: extensions)
        if let data { members.append(("data", data)) }
        if let dataBase64 { members.append(("data_base64", .string(dataBase64))) }
        return JSONWriter.encode(.object(JSONObject(members))) + [0x0A]
    }

    public func logged(seq: Int, receivedAt: String) -> LoggedEvent {
        LoggedEvent(seq: seq, id: id, source: source, type: type, subject: subject, time: time ?? receivedAt,
                    receivedAt: receivedAt, data: data, extensions: extensions, dataContentType: dataContentType,
                    dataBase64: dataBase64)
    }
}
