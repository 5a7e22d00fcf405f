/// An action's audit trail as the log holds it: the steps of `world/action/ID.json`, which the
/// observer folds from the services' `action.*` events (and only theirs: see `Provenance`).
public struct ActionHistory: Equatable, Sendable {
    public struct Step: Equatable, Sendable {
        public let step: String
        public let actor: String
        public let time: String
        public let seq: Int
    }

    public var steps: [Step]

    public init(steps: [Step]) { self.steps = steps }

    public init(_ resource: WorldResource) {
        steps = (resource.lifecycle ?? []).compactMap { bytes in
            guard let object = (try? JSONParser.parse(bytes))?.object, let step = object["step"]?.string else { return nil }
            return Step(step: step, actor: object["actor"]?.string ?? "", time: object["time"]?.string ?? "", seq: object["seq"]?.int ?? 0)
        }
    }

    /// The history of action `id`, or nil when the log holds nothing of it.
    public static func read(_ id: String, root: RuntimeRoot) -> ActionHistory? {
        WorldResource.read(root.worldFile(Subject(kind: "action", name: id))).map { ActionHistory($0.1) }
    }

    public func has(_ step: ActionEvents.Step) -> Bool { steps.contains { $0.step == step.rawValue } }

    /// Who took `step`, if anyone did.
    public func actor(of step: ActionEvents.Step) -> String? { steps.first { $0.step == step.rawValue }?.actor }
}
