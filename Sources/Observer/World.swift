#if canImport(Glibc)
import Glibc
#endif
import HomelabCore

/// The world as the fold of the log (SPEC §4.2), held in memory and written to `world/` by
/// `WorldStore`. Each resource's file is a pure function of the events that touched it, and
/// the bytes are produced by one serializer, so folding incrementally and rebuilding from the
/// whole log give the same files.
///
/// Replaying a suffix of the log onto a world that already reflects part of it ends in the
/// same state (every event overwrites what it touches; lifecycle steps are skipped when the
/// action already has them), which is what lets recovery replay from the checkpoint without
/// knowing how far the last batch's world writes got.
final class World {
    typealias Resource = WorldResource

    private(set) var kinds: [String: [String: Resource]] = [:]
    private(set) var seq = 0
    private(set) var generatedAt: String?
    /// Resources changed (or deleted) since `takeDirty()`.
    private var dirty: Set<Subject> = []
    /// Events of types the world does not know: logged and counted, nothing else.
    private(set) var ignoredEvents = 0
    /// Nodes whose `lastSeen` came from a heartbeat thinned out of the log: the `lastSeen` the
    /// fold of the log gives them (what a snapshot records). Cleared by any logged event that
    /// touches the node.
    private(set) var loggedLastSeen: [Subject: String] = [:]

    var resourceCount: Int { kinds.values.reduce(0) { $0 + $1.count } }

    func resource(_ key: Subject) -> Resource? { kinds[key.kind]?[key.name] }

    func takeDirty() -> Set<Subject> {
        defer { dirty.removeAll(keepingCapacity: true) }
        return dirty
    }

    /// Restores a resource read back from `world/` (start-up without a rebuild).
    func load(_ key: Subject, _ resource: Resource) { kinds[key.kind, default: [:]][key.name] = resource }

    func restoreIndex(seq: Int, generatedAt: String?) {
        self.seq = seq
        self.generatedAt = generatedAt
    }

    /// The `lastSeen` of thinned heartbeats, as the checkpoint remembers it (`loggedLastSeen`).
    func restoreLoggedLastSeen(_ logged: [String: String]) {
        for (text, time) in logged {
            if case .success(let subject) = Subject.parse(text), resource(subject) != nil { loggedLastSeen[subject] = time }
        }
    }

    /// The checkpoint's form of `loggedLastSeen`.
    var loggedLastSeenByName: [String: String] {
        Dictionary(uniqueKeysWithValues: loggedLastSeen.map { ($0.key.description, $0.value) })
    }

    // MARK: Snapshots

    /// The world as the fold of the log alone: thinned heartbeats' `lastSeen` left out.
    var snapshot: WorldSnapshot {
        var resources: [(subject: Subject, resource: Resource)] = []
        resources.reserveCapacity(resourceCount)
        for (kind, byName) in kinds {
            for (name, resource) in byName {
                let subject = Subject(kind: kind, name: name)
                var folded = resource
                if let logged = loggedLastSeen[subject] { folded.lastSeen = logged }
                resources.append((subject, folded))
            }
        }
        resources.sort { $0.subject.kind != $1.subject.kind ? $0.subject.kind < $1.subject.kind : $0.subject.name < $1.subject.name }
        return WorldSnapshot(seq: seq, generatedAt: generatedAt, ignoredEvents: ignoredEvents, resources: resources)
    }

    /// A world that is the fold of the log up to the snapshot's seq.
    convenience init(_ snapshot: WorldSnapshot) {
        self.init()
        for (subject, resource) in snapshot.resources { load(subject, resource) }
        seq = snapshot.seq
        generatedAt = snapshot.generatedAt
        ignoredEvents = snapshot.ignoredEvents
    }

    // MARK: Thinned heartbeats

    /// A heartbeat that is not logged (docs/observer.md, "Heartbeats"): the node's `lastSeen`
    /// moves, nothing else — not `seq`, not the index. False if the node is not in the world
    /// (then the heartbeat must be logged: it creates the node).
    func applyThinnedHeartbeat(_ subject: Subject, time: String) -> Bool {
        guard var node = resource(subject) else { return false }
        let folded = loggedLastSeen[subject] ?? node.lastSeen
        node.lastSeen = time
        put(subject, node)
        if loggedLastSeen.updateValue(folded, forKey: subject) == nil { loggedLastSeenGrew = true }
        return true
    }

    private var loggedLastSeenGrew = false

    /// Whether a node joined `loggedLastSeen` since the last call.
    func takeLoggedLastSeenGrew() -> Bool {
        defer { loggedLastSeenGrew = false }
        return loggedLastSeenGrew
    }

    // MARK: The fold

    func apply(_ event: LoggedEvent) {
        defer {
            seq = event.seq
            generatedAt = event.receivedAt
        }
        let subject = event.subject.flatMap { try? Subject.parse($0).get() }
        switch event.type {
        case "resource.observed":
            guard let subject, let data = event.data else { return }
            put(subject, Resource(observed: JSONWriter.encode(data), lastSeen: event.time, source: event.source, seq: event.seq))
        case "resource.removed":
            guard let subject else { return }
            remove(subject)
        case "resource.snapshot":
            guard let subject, let resources = event.data?["resources"]?.object else { return }
            let prefix = subject.name + "/"
            // A snapshot can name tens of thousands: room for all of them at once, rather than
            // growing (and hashing every key again) a doubling at a time.
            kinds[subject.kind, default: [:]].reserveCapacity((kinds[subject.kind]?.count ?? 0) + resources.count)
            dirty.reserveCapacity(dirty.count + resources.count)
            for (name, observed) in resources {
                put(Subject(kind: subject.kind, name: name),
                    Resource(observed: JSONWriter.encode(observed), lastSeen: event.time, source: event.source, seq: event.seq))
            }
            // Whether a name is listed: the snapshot's own key index answers it.
            for name in kinds[subject.kind]?.keys ?? [:].keys where name.hasPrefix(prefix) && resources[name] == nil {
                remove(Subject(kind: subject.kind, name: name))
            }
        case "node.heartbeat":
            guard let subject else { return }
            if var node = resource(subject) {
                node.lastSeen = event.time
                put(subject, node)
            } else {
                put(subject, Resource(observed: Array("{}".utf8), lastSeen: event.time, source: event.source, seq: event.seq))
            }
        default:
            if event.type.hasPrefix("action."), let subject {
                applyAction(event, subject)
            } else {
                ignoredEvents += 1
            }
        }
    }

    /// Folds one log line: from its fields when it is in the form the observer writes (no
    /// JSON tree, no second encoding of `data`), otherwise the event `parsed` gives; false when
    /// that is nil. What a batch and a rebuild both do, so they cannot fold differently.
    func apply(line: UnsafeBufferPointer<UInt8>, seq: Int, orElse parsed: () -> LoggedEvent?) -> Bool {
        if let fields = LogLineFields.scan(line), fields.seq == seq, applyFields(fields, in: line) { return true }
        guard let event = parsed() else { return false }
        apply(event)
        return true
    }

    /// The fold of a line read by `LogLineFields` (a rebuild's fast path), for the types that
    /// need no more than its fields and `data`'s bytes; false for the others (snapshots,
    /// actions), which the caller folds from the parsed line. The same result as `apply`.
    func applyFields(_ fields: LogLineFields, in line: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let typeRange = fields.type, let timeRange = fields.time, let sourceRange = fields.source, let receivedRange = fields.receivedAt
        else { return false }
        let type = UnsafeBufferPointer(rebasing: line[typeRange])
        let kind: Int
        if type.equals(Self.observedType) { kind = 0 } else if type.equals(Self.removedType) { kind = 1 }
        else if type.equals(Self.heartbeatType) { kind = 2 }
        else if type.equals(Self.snapshotType) || UnsafeBufferPointer(rebasing: type.prefix(Self.actionPrefix.count)).equals(Self.actionPrefix) { return false }
        else { kind = 3 }
        let subject = fields.subject.flatMap { replayCache.subject(UnsafeBufferPointer(rebasing: line[$0])) }
        switch kind {
        case 0:
            if let subject, let data = fields.data {
                put(subject, Resource(observed: Array(line[data]), lastSeen: replayCache.time(UnsafeBufferPointer(rebasing: line[timeRange])),
                                      source: replayCache.source(UnsafeBufferPointer(rebasing: line[sourceRange])), seq: fields.seq))
            }
        case 1:
            if let subject { remove(subject) }
        case 2:
            if let subject {
                let time = replayCache.time(UnsafeBufferPointer(rebasing: line[timeRange]))
                if var node = resource(subject) {
                    node.lastSeen = time
                    put(subject, node)
                } else {
                    put(subject, Resource(observed: Array("{}".utf8), lastSeen: time,
                                          source: replayCache.source(UnsafeBufferPointer(rebasing: line[sourceRange])), seq: fields.seq))
                }
            }
        default:
            ignoredEvents += 1
        }
        seq = fields.seq
        generatedAt = replayCache.received(UnsafeBufferPointer(rebasing: line[receivedRange]))
        return true
    }

    /// What a rebuild meets again and again — the same subjects, a batch's one receipt time, a
    /// producer's source — made into Strings and Subjects once.
    private var replayCache = ReplayCache()

    private static let observedType = Array("resource.observed".utf8)
    private static let removedType = Array("resource.removed".utf8)
    private static let heartbeatType = Array("node.heartbeat".utf8)
    private static let snapshotType = Array("resource.snapshot".utf8)
    private static let actionPrefix = Array("action.".utf8)

    /// `world/action/ID.json`: the latest step's data as `observed` (with `state`), and the
    /// whole lifecycle, each step with its actor and time — the audit trail.
    private func applyAction(_ event: LoggedEvent, _ subject: Subject) {
        let existing = resource(subject)
        if let existing, existing.seq >= event.seq { return }  // replayed: already folded
        let step = String(event.type.dropFirst("action.".count))
        var observed = event.data?.object ?? [:]
        observed["state"] = .string(step)
        let actor = event.data?["actor"]?.string ?? event.source
        let record: JSONValue = .object([
            "step": .string(step), "actor": .string(actor), "time": .string(event.time), "seq": .int(event.seq),
        ])
        var lifecycle = existing?.lifecycle ?? []
        lifecycle.append(JSONWriter.encode(record))
        put(subject, Resource(observed: JSONWriter.encode(.object(observed)), lastSeen: event.time, source: event.source,
                              seq: event.seq, lifecycle: lifecycle))
    }

    /// Off while a rebuild folds: it writes every resource anyway,
    /// and remembering a million changes was a tenth of its time.
    var tracksChanges = true

    private func put(_ subject: Subject, _ resource: Resource) {
        kinds[subject.kind, default: [:]][subject.name] = resource
        if tracksChanges { dirty.insert(subject) }
        if !loggedLastSeen.isEmpty { loggedLastSeen[subject] = nil }  // the log speaks for it again
    }

    private func remove(_ key: Subject) {
        if !loggedLastSeen.isEmpty { loggedLastSeen[key] = nil }
        guard kinds[key.kind]?.removeValue(forKey: key.name) != nil else { return }
        if kinds[key.kind]?.isEmpty == true { kinds[key.kind] = nil }
        if tracksChanges { dirty.insert(key) }
    }

    // MARK: Files

    /// `world/index.json` as the world now is.
    var index: WorldIndex {
        WorldIndex(seq: seq, generatedAt: generatedAt, byKind: kinds.map { (kind: $0.key, count: $0.value.count) })
    }
}

/// Strings and subjects of a replay, kept by their bytes (`World.applyFields`).
struct ReplayCache {
    private var subjects: [Int: (bytes: [UInt8], subject: Subject?)] = [:]
    private var lastTime: (bytes: [UInt8], string: String) = ([], "")
    private var lastReceived: (bytes: [UInt8], string: String) = ([], "")
    private var lastSource: (bytes: [UInt8], string: String) = ([], "")

    /// The subject these bytes name, or nil when they are not KIND/NAME.
    mutating func subject(_ bytes: UnsafeBufferPointer<UInt8>) -> Subject? {
        var hasher = Hasher()
        hasher.combine(bytes: UnsafeRawBufferPointer(bytes))
        let key = hasher.finalize()
        if let cached = subjects[key], bytes.equals(cached.bytes) { return cached.subject }
        let subject = try? Subject.parse(String(decoding: bytes, as: UTF8.self)).get()
        if subjects.count < 1 << 16 { subjects[key] = (Array(bytes), subject) }
        return subject
    }

    mutating func time(_ bytes: UnsafeBufferPointer<UInt8>) -> String { Self.string(bytes, &lastTime) }
    mutating func received(_ bytes: UnsafeBufferPointer<UInt8>) -> String { Self.string(bytes, &lastReceived) }
    mutating func source(_ bytes: UnsafeBufferPointer<UInt8>) -> String { Self.string(bytes, &lastSource) }

    private static func string(_ bytes: UnsafeBufferPointer<UInt8>, _ last: inout (bytes: [UInt8], string: String)) -> String {
        if bytes.equals(last.bytes) { return last.string }
        last = (Array(bytes), String(decoding: bytes, as: UTF8.self))
        return last.string
    }
}

extension UnsafeBufferPointer<UInt8> {
    /// Whether these bytes are `other`'s: `memcmp`, where the generic `elementsEqual` was a
    /// tenth of a rebuild.
    func equals(_ other: [UInt8]) -> Bool {
        guard count == other.count else { return false }
        guard count > 0 else { return true }
        return other.withUnsafeBufferPointer { memcmp(baseAddress!, $0.baseAddress!, count) == 0 }
    }
}
