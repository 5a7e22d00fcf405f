import HomelabCore

/// One container as `docker inspect` describes it, reduced to what the world keeps (SPEC §10).
struct ContainerReport: Equatable {
    let id: String
    let name: String
    let observed: JSONObject

    /// `docker inspect --format` with this template prints one JSON object per container.
    /// (Whole objects rather than single fields: a template naming `.State.Health` fails on a
    /// container without a health check.)
    static let inspectTemplate = #"{"id":{{json .Id}},"name":{{json .Name}},"state":{{json .State}},"image":{{json .Config.Image}},"labels":{{json .Config.Labels}}}"#

    /// Parses one line of that output; anything else (an error line) is nil.
    static func parse(_ line: [UInt8]) -> ContainerReport? {
        guard line.first == UInt8(ascii: "{"), let object = (try? JSONParser.parse(line))?.object,
              let id = object["id"]?.string, let rawName = object["name"]?.string else { return nil }
        let name = containerName(rawName)
        let state = object["state"]
        let labels = object["labels"]
        let fields: [(String, String?)] = [
            ("state", state?["Status"]?.string),
            ("image", object["image"]?.string),
            ("health", state?["Health"]?["Status"]?.string),
            ("startedAt", state?["StartedAt"]?.string),
            ("composeProject", labels?["com.docker.compose.project"]?.string),
            ("composeService", labels?["com.docker.compose.service"]?.string),
        ]
        var observed: JSONObject = [:]
        for (key, value) in fields {
            if let value, !value.isEmpty { observed[key] = .string(value) }
        }
        return ContainerReport(id: id, name: name, observed: observed)
    }
}

/// One line of `docker events --format '{{json .}}'`, as far as the collector cares.
struct EngineEvent: Equatable {
    enum Effect: Equatable {
        /// The container may have changed: look at it again.
        case inspect
        /// It is gone.
        case destroyed
        /// It has a new name; the old one is gone.
        case renamed(from: String)
        /// Nothing the world keeps (exec_* of health checks, attach, resize, …).
        case none
    }

    let id: String
    let name: String
    let effect: Effect
    /// What the event alone says about the container's properties (`die` → state exited,
    /// `health_status: healthy` → health healthy), reported at once; the inspect that follows
    /// confirms it and fills in the rest.
    var implies: [String: String] = [:]

    static func parse(_ line: [UInt8]) -> EngineEvent? {
        guard let object = (try? JSONParser.parse(line))?.object,
              (object["Type"]?.string ?? "container") == "container",
              let id = object["id"]?.string ?? object["Actor"]?["ID"]?.string else { return nil }
        let attributes = object["Actor"]?["Attributes"]
        let name = attributes?["name"]?.string ?? ""
        // "health_status: healthy", "exec_start: homelab health ui": the verb is before the colon.
        let fullAction = object["Action"]?.string ?? object["status"]?.string ?? ""
        let action = fullAction.prefix { $0 != ":" }
        let effect: Effect
        switch action {
        case "destroy": effect = .destroyed
        case "rename":
            let old = attributes?["oldName"]?.string ?? ""
            effect = .renamed(from: containerName(old))
        case "create", "start", "restart", "stop", "die", "oom", "pause", "unpause", "update", "health_status":
            effect = .inspect
        default: effect = .none
        }
        var implies: [String: String] = [:]
        switch action {
        case "start", "unpause": implies["state"] = "running"
        case "die": implies["state"] = "exited"
        case "pause": implies["state"] = "paused"
        case "health_status":
            let status = fullAction.drop { $0 != ":" }.dropFirst().trimmingWhitespace()
            if !status.isEmpty { implies["health"] = status }
        default: break
        }
        return EngineEvent(id: id, name: containerName(name), effect: effect, implies: implies)
    }
}

/// A container's name as the engine writes it (`/jellyfin`), without the leading slash.
private func containerName(_ engineName: String) -> String {
    engineName.hasPrefix("/") ? String(engineName.dropFirst()) : engineName
}
