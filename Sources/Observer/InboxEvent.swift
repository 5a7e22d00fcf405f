import HomelabCore

/// A dropped file that passed validation, not yet numbered: what it becomes in the log
/// once the batch gives it a `seq` and a `receivedAt`.
struct InboxEvent {
    var id: String
    var source: String
    var type: String
    var subject: String?
    var time: String?
    var data: JSONValue?
    var dataContentType: String?
    var extensions: [(key: String, value: JSONValue)]

    func logged(seq: Int, receivedAt: String) -> LoggedEvent {
        LoggedEvent(seq: seq, id: id, source: source, type: type, subject: subject, time: time ?? receivedAt,
                    receivedAt: receivedAt, data: data, extensions: extensions, dataContentType: dataContentType)
    }
}

/// Why a dropped file was refused: one line, written to `rejected/NAME.reason.json`.
struct Rejection: Error, CustomStringConvertible {
    let reason: String
    init(_ reason: String) { self.reason = reason }
    var description: String { reason }
}
