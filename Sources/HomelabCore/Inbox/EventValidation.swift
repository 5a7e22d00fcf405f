/// The rules a dropped event must meet (SPEC §4.1–4.2). Everything here is pure: bytes in,
/// an event or the reason for refusing it out.
public enum EventValidation {
    public static let maxBytes = 1 << 20
    static let maxDepth = 32
    static let maxAttributeLength = 1024
    static let standardAttributes: Set<String> = ["specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema", "data", "data_base64"]
    /// Set by the log, never by a producer (`receivedAt`: what old lines say).
    static let reservedAttributes: Set<String> = ["seq", LoggedEvent.receivedAtAttribute, LoggedEvent.legacyReceivedAtAttribute]
    /// The types §4.2's table folds into the world: their subject is KIND/NAME, and their data JSON.
    static let foldedTypes: Set<String> = ["resource.observed", "resource.removed", "resource.snapshot", "node.heartbeat"]

    public static func validate(_ bytes: [UInt8]) -> Result<InboxEvent, Rejection> {
        if bytes.count > maxBytes { return .failure(Rejection("over 1 MiB (\(bytes.count) bytes)")) }
        let document: JSONValue
        do {
            document = try JSONParser.parse(bytes, maxDepth: maxDepth)
        } catch {
            switch error.code {
            case .tooDeep: return .failure(Rejection("too deeply nested: \(error)"))
            case .invalidUTF8: return .failure(Rejection("not UTF-8: \(error)", mayBeIncomplete: true))
            case .syntax, .loneSurrogate: return .failure(Rejection("not JSON: \(error)", mayBeIncomplete: true))
            case .duplicateKey: return .failure(Rejection("not JSON: \(error)"))
            }
        }
        guard let object = document.object else {
            return .failure(Rejection("not a JSON object (the document is \(document.typeName))"))
        }
        return validate(object, bytes: bytes)
    }

    /// `validate`, then the refusals of who sent it.
    public static func validate(_ bytes: [UInt8], from provenance: Provenance) -> Result<InboxEvent, Rejection> {
        validate(bytes).flatMap { event in provenance.refusal(of: event).map { .failure($0) } ?? .success(event) }
    }

    /// The most events one batch may carry (`POST /api/events`, SPEC §11).
    public static let maxBatchEvents = 1000

    public enum BatchError: Error, Equatable {
        case notABatch(String)
        case tooMany(Int)
    }

    /// A CloudEvents batch (`application/cloudevents-batch+json`: a JSON array of events), each
    /// item checked by the same rules as a dropped file (an item without `id` gets the digest
    /// of its bytes as written here). The whole batch fails only when it is not an array of at
    /// most `maxBatchEvents`; otherwise each item has its own result, in order. Who sent it is
    /// the caller's to judge (`Provenance`).
    public static func validateBatch(_ bytes: [UInt8]) -> Result<[Result<InboxEvent, Rejection>], BatchError> {
        if bytes.count > maxBytes { return .failure(.notABatch("over 1 MiB (\(bytes.count) bytes)")) }
        let document: JSONValue
        do {
            document = try JSONParser.parse(bytes, maxDepth: maxDepth + 1)
        } catch {
            return .failure(.notABatch("not JSON: \(error)"))
        }
        guard case .array(let items) = document else {
            return .failure(.notABatch("a batch is a JSON array of events, not \(document.typeName)"))
        }
        if items.count > maxBatchEvents { return .failure(.tooMany(items.count)) }
        return .success(items.map { item in
            guard let object = item.object else { return .failure(Rejection("not a JSON object (the item is \(item.typeName))")) }
            return validate(object, bytes: JSONWriter.encode(item))
        })
    }

    private static func validate(_ object: JSONObject, bytes: [UInt8]) -> Result<InboxEvent, Rejection> {
        func text(_ key: String, required: Bool) -> Result<String?, Rejection> {
            guard let value = object[key] else {
                return required ? .failure(Rejection("missing \"\(key)\"")) : .success(nil)
            }
            guard let string = value.string else { return .failure(Rejection("\"\(key)\" must be a string, not \(value.typeName)")) }
            if string.isEmpty { return .failure(Rejection("\"\(key)\" is empty")) }
            if string.utf8.count > maxAttributeLength { return .failure(Rejection("\"\(key)\" is longer than \(maxAttributeLength) bytes")) }
            return .success(string)
        }
        do {
            let type = try text("type", required: true).get()!
            let source = try text("source", required: true).get()!
            let id = try text("id", required: false).get() ?? "sha256:" + Digest.sha256Hex(bytes)
            let time = try text("time", required: false).get()
            let subject = try text("subject", required: false).get()
            let dataContentType = try text("datacontenttype", required: false).get()
            _ = try text("dataschema", required: false).get()
            if let version = try text("specversion", required: false).get(), version != "1.0" {
                throw Rejection("specversion \"\(version)\" is not supported (only 1.0)")
            }
            if let time, !Timestamp.isRFC3339(time) { throw Rejection("\"time\" is not an RFC 3339 timestamp: \"\(time)\"") }
            try checkAttributeNames(object)
            let data = object["data"]
            let dataBase64 = try base64Data(object)
            try checkWorldRules(type: type, subject: subject, data: data, hasBase64: dataBase64 != nil)
            // Everything else is kept as sent: dataschema and the extensions, in their order.
            let extensions = object.members.filter { !standardAttributes.contains($0.key) || $0.key == "dataschema" }
            return .success(InboxEvent(id: id, source: source, type: type, subject: subject, time: time, data: data,
                                       dataBase64: dataBase64, dataContentType: dataContentType, extensions: extensions))
        } catch let rejection as Rejection {
            return .failure(rejection)
        } catch {
            return .failure(Rejection("\(error)"))
        }
    }

    /// Extension attribute names follow CloudEvents: lower-case ASCII letters and digits (a
    /// MUST, or the SDKs cannot read the log line). The spec's "SHOULD NOT exceed 20
    /// characters" is not enforced — SDKs accept longer names — but a name is bounded like a
    /// value, by `maxAttributeLength`.
    private static func checkAttributeNames(_ object: JSONObject) throws {
        for key in object.keys where !standardAttributes.contains(key) {
            if reservedAttributes.contains(key) { throw Rejection("\"\(key)\" is set by the observer, not by producers") }
            if key.isEmpty { throw Rejection("an attribute name is empty") }
            if key.utf8.count > maxAttributeLength { throw Rejection("an attribute name is longer than \(maxAttributeLength) bytes") }
            let legal = key.utf8.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
            if !legal {
                let shown = key.count <= 64 ? key : String(key.prefix(64)) + "…"
                throw Rejection("attribute name \"\(shown)\" is not allowed: CloudEvents attribute names are lower-case ASCII letters and digits only")
            }
        }
    }

    /// `data_base64`, as SDKs send binary or pre-serialised data: a string of valid base64,
    /// never beside `data`. Kept as is; nothing here decodes it.
    private static func base64Data(_ object: JSONObject) throws -> String? {
        guard let value = object["data_base64"] else { return nil }
        guard let text = value.string else { throw Rejection("\"data_base64\" must be a string, not \(value.typeName)") }
        if object["data"] != nil { throw Rejection("\"data\" and \"data_base64\" are exclusive: send one of them") }
        guard Base64.isValid(text) else { throw Rejection("\"data_base64\" is not valid base64 (RFC 4648, standard alphabet, padded)") }
        return text
    }

    /// The subject and data each world-changing type needs (SPEC §4.2).
    private static func checkWorldRules(type: String, subject: String?, data: JSONValue?, hasBase64: Bool) throws {
        let folded = foldedTypes.contains(type) || type.hasPrefix("action.")
        // The world folds JSON; decoding base64 to guess whether it holds JSON would make the
        // same resource depend on how a producer's SDK chose to encode it.
        if folded && hasBase64 { throw Rejection("\(type) is folded from JSON \"data\"; \"data_base64\" is not accepted for it") }
        func parsedSubject(nameSegments: ClosedRange<Int> = 1...Subject.maxNameSegments) throws -> Subject {
            guard let subject else { throw Rejection("\(type) needs a subject KIND/NAME") }
            switch Subject.parse(subject, minNameSegments: nameSegments.lowerBound, maxNameSegments: nameSegments.upperBound) {
            case .success(let parsed): return parsed
            case .failure(let error): throw Rejection("bad subject: \(error)")
            }
        }
        switch type {
        case "resource.observed":
            let parsed = try parsedSubject()
            try refuseActionKind(parsed, type)
            guard data?.object != nil else { throw Rejection("resource.observed needs \"data\": an object of observed properties") }
        case "resource.removed":
            try refuseActionKind(try parsedSubject(), type)
        case "resource.snapshot":
            let parsed = try parsedSubject(nameSegments: 1...(Subject.maxNameSegments - 1))
            try refuseActionKind(parsed, type)
            guard let resources = data?["resources"]?.object else {
                throw Rejection("resource.snapshot needs \"data.resources\": an object mapping NAME to observed properties")
            }
            let prefix = parsed.name + "/"
            for (name, observed) in resources {
                guard name.hasPrefix(prefix), Subject.isValidName(name) else {
                    throw Rejection("resource.snapshot of \(parsed): \"\(name)\" is not a valid NAME under \(prefix)")
                }
                guard observed.object != nil else {
                    throw Rejection("resource.snapshot: the properties of \"\(name)\" must be an object")
                }
            }
        case "node.heartbeat":
            let parsed = try parsedSubject()
            guard parsed.kind == "node" else { throw Rejection("node.heartbeat needs a subject node/NAME, not \"\(parsed)\"") }
        default:
            if type.hasPrefix("action.") {
                let parsed = try parsedSubject(nameSegments: 1...1)
                guard parsed.kind == "action" else { throw Rejection("\(type) needs a subject action/ID, not \"\(parsed)\"") }
                if let data, data.object == nil { throw Rejection("\(type): \"data\" must be an object") }
            }
            // Other types are only logged: their subject is free-form (CloudEvents' own
            // example is "mynewfile.jpg"), bounded like every attribute.
        }
    }

    private static func refuseActionKind(_ subject: Subject, _ type: String) throws {
        if subject.kind == "action" { throw Rejection("\(type) cannot change action/…; actions change only through action.* events") }
    }
}

/// The observer's acceptance rules, for producers that want to check before dropping a file.
public enum InboxRules {
    /// Nil when the observer would accept `bytes`; otherwise the reason it would refuse them.
    public static func refusal(_ bytes: [UInt8]) -> String? {
        if case .failure(let rejection) = EventValidation.validate(bytes) { return rejection.reason }
        return nil
    }
}
