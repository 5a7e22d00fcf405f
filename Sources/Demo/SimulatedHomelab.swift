import FSWatch
import HomelabCore

/// A homelab that exists only as events: the nodes and resources of the inventory, reported
/// into the inbox the way real collectors would. At start every resource is as desired; now
/// and then one drifts (a container stops, runs another image, or disappears), which the
/// control plane notices and proposes to fix. The catalog's demo actions only print what they
/// would do, so the simulation plays the machine's part: when such an action lands in
/// `actions/done/` having succeeded, the resource comes back to its desired spec and is
/// reported again — the world heals.
final class SimulatedHomelab {
    /// One way a resource can drift, each with a rule in the inventory to fix it.
    enum Drift: CustomStringConvertible {
        case field(String, JSONValue)
        case removed

        var description: String {
            switch self {
            case .field(let key, let value): "\(key) → \(JSONWriter.string(value))"
            case .removed: "removed"
            }
        }
    }

    private let reactor: Reactor
    private let root: RuntimeRoot
    private let nodes: [String]
    private let desired: [Subject: DesiredResource]
    /// What each simulated resource looks like now; absent when removed.
    private var observed: [Subject: JSONObject] = [:]
    private var drifted: Set<Subject> = []
    /// When each resource was last fixed: it stays well for a while (longer than the
    /// supervisor's verification settle), as a fixed machine does, so the fix can be verified.
    private var fixedAt: [Subject: MonotonicTime] = [:]
    static let wellAfterFix: Duration = .seconds(15)
    private let say: (String) -> Void
    private var watches: [DirectoryWatch] = []
    private var announced: Set<String> = []
    private var generator = SystemRandomNumberGenerator()

    init(reactor: Reactor, root: RuntimeRoot, inventory: Inventory, say: @escaping (String) -> Void) {
        self.reactor = reactor
        self.root = root
        self.say = say
        nodes = inventory.resources.keys.filter { $0.kind == "node" }.map(\.name).sorted()
        desired = inventory.resources.filter { $0.key.kind != "node" }
    }

    /// Reports every node (with facts, as its agent would) and resource, each as desired.
    func reportAll() {
        for (subject, resource) in desired {
            observed[subject] = resource.spec
            report(subject)
        }
        for (index, node) in nodes.enumerated() {
            let facts: JSONObject = [
                "hostname": .string(node), "os": .string("Debian GNU/Linux 12 (bookworm)"), "kernel": .string("6.1.0-demo"),
                "cpus": .int(2 + 2 * index), "loadPercent": .int(5 + 7 * index),
                "memory": .object(["totalBytes": .int((4 + 4 * index) << 30), "usedPercent": .int(30 + 9 * index)]),
                "disks": .object(["/": .object(["totalBytes": .int(64 << 30), "usedPercent": .int(40 + 11 * index)])]),
                "agent": .object(["transport": .string("simulated"), "spooled": .int(0), "gaps": .int(0)]),
            ]
            emit(type: "resource.observed", subject: "node/\(node)", data: .object(facts), source: "node/\(node)")
        }
        beat()
    }

    /// From now on: heartbeats every `heartbeat`, a drift every `driftEvery`, and fixes as actions finish.
    func start(heartbeat: Duration, driftEvery: Duration) throws {
        reactor.timer(after: heartbeat, repeating: heartbeat) { [unowned self] in beat() }
        reactor.timer(after: driftEvery, repeating: driftEvery) { [unowned self] in driftOne() }
        watches.append(try DirectoryWatch(reactor: reactor, root: root.actions(.done), options: .arrivalsOnly) { [unowned self] events in
            for event in events where event.kind == .ready { actionDone(event.path) }
        })
        watches.append(try DirectoryWatch(reactor: reactor, root: root.actions(.pending), options: .arrivalsOnly) { [unowned self] events in
            for event in events where event.kind == .ready { proposed(event.path) }
        })
    }

    /// Every way the desired resources could drift now, for the next drift to choose from.
    var possibleDrifts: [(Subject, Drift)] {
        var list: [(Subject, Drift)] = []
        let now = MonotonicTime.now()
        for (subject, resource) in desired where !drifted.contains(subject) && fixedAt[subject].map({ now - $0 >= Self.wellAfterFix }) ?? true {
            for rule in resource.remediate {
                if rule.on == "missing" { list.append((subject, .removed)) }
                if let value = resource.spec[rule.on], let other = Self.driftedValue(of: rule.on, value) { list.append((subject, .field(rule.on, other))) }
            }
        }
        return list.sorted { "\($0.0)\($0.1)" < "\($1.0)\($1.1)" }
    }

    /// Makes `subject` drift as `drift` says and reports it.
    func drift(_ subject: Subject, _ drift: Drift) {
        drifted.insert(subject)
        switch drift {
        case .field(let key, let value): observed[subject]?[key] = value
        case .removed: observed[subject] = nil
        }
        say("simulated drift: \(subject) \(drift)")
        report(subject)
    }

    private func driftOne() {
        let choices = possibleDrifts
        guard !choices.isEmpty else { return }
        let (subject, kind) = choices[Int.random(in: 0..<choices.count, using: &generator)]
        drift(subject, kind)
    }

    /// A value that differs from `value` in a way a homelab would see.
    static func driftedValue(of key: String, _ value: JSONValue) -> JSONValue? {
        guard let text = value.string else { return nil }
        switch key {
        case "state": return .string(text == "running" ? "exited" : "running")
        case "image":
            let repository = text.split(separator: ":", omittingEmptySubsequences: false).dropLast().joined(separator: ":")
            let drifted = (repository.isEmpty ? text : repository) + ":latest"
            return .string(drifted == text ? repository + ":previous" : drifted)
        default: return .string(text + "-drifted")
        }
    }

    private func beat() {
        for node in nodes {
            emit(type: "node.heartbeat", subject: "node/\(node)", data: nil, source: "node/\(node)")
        }
    }

    private func report(_ subject: Subject) {
        let source = "node/" + (subject.name.split(separator: "/").first.map(String.init) ?? "demo")
        if let properties = observed[subject] {
            emit(type: "resource.observed", subject: subject.description, data: .object(properties), source: source)
        } else {
            emit(type: "resource.removed", subject: subject.description, data: nil, source: source)
        }
    }

    private func emit(type: String, subject: String, data: JSONValue?, source: String) {
        do {
            try InboxWriter(inbox: root.inbox, source: source).emit(type: type, subject: subject, data: data)
        } catch {
            say("cannot drop \(type) for \(subject): \(error)")
        }
    }

    private func proposed(_ path: String) {
        guard let action = FileContents.object(path), let id = action["id"]?.string, announced.insert(id).inserted else { return }
        let preview = (action["preview"]?.array ?? []).compactMap(\.string).joined(separator: " ")
        say("proposed \(id): \(action["action"]?.string ?? "?") for \(action["resource"]?.string ?? "?") (\(preview)) — approve it in the browser or with `homelab approve \(id)`")
    }

    /// A succeeded action on a simulated resource: the machine now does what it was told.
    private func actionDone(_ path: String) {
        guard let action = FileContents.object(path), action["result"]?["exitCode"]?.int == 0,
              let resource = action["resource"]?.string, case .success(let subject) = Subject.parse(resource),
              let spec = desired[subject]?.spec else { return }
        drifted.remove(subject)
        fixedAt[subject] = .now()
        observed[subject] = spec
        say("simulated fix: \(subject) is back to its desired state after \(action["id"]?.string ?? "?")")
        report(subject)
    }
}
