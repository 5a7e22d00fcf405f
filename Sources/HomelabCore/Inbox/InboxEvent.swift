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

    public func logged(seq: Int, receivedAt: String) -> LoggedEvent {
        LoggedEvent(seq: seq, id: id, source: source, type: type, subject: subject, time: time ?? receivedAt,
                    receivedAt: receivedAt, data: data, extensions: extensions, dataContentType: dataContentType,
                    dataBase64: dataBase64)
    }
}
