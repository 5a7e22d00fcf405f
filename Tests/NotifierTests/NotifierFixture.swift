#if canImport(Glibc)
import Glibc
#endif
import Foundation
import FSWatch
import HomelabCore
import Observer
import Supervisor
import TestSupport
@testable import Notifier

/// A runtime root with a real observer (and, when asked, a supervisor) and the notifier on
/// the test's reactor, a receiver speaking every target's API, and one target of each kind
/// pointing at it.
final class NotifierFixture: ServiceFixture {
    static let publicURL = "http://dash.example:8080/"
    private(set) var receiver: Receiver!
    private(set) var observer: ObserverService!
    private(set) var supervisor: SupervisorService!
    private(set) var notifier: NotifierService!

    init(kinds: [NotifyTarget.Kind] = NotifyTarget.Kind.allCases) throws {
        try super.init("notifier")
        receiver = try Receiver(reactor: reactor)
        makeFolders(inventory + "/notify")
        makeFolders(root.secrets + "/notify")
        try Receiver.gotifyToken.write(toFile: root.secrets + "/notify/gotify.token", atomically: true, encoding: .utf8)
        try Receiver.webhookSecret.write(toFile: root.secrets + "/notify/webhook.secret", atomically: true, encoding: .utf8)
        for kind in kinds { target(kind) }
        catalog("docker-start", #"{"argv":["docker","start","{container}"],"params":{"host":"^[a-z]+$","container":"^[a-z0-9-]+$"},"verifyWithinSeconds":1}"#)
    }

    func target(_ kind: NotifyTarget.Kind, name: String? = nil, extra: String = "") {
        let url = receiver.url
        let json: String
        switch kind {
        case .webhook: json = #"{"type":"webhook","url":"\#(url)/hook","secretFile":"notify/webhook.secret"\#(extra)}"#
        case .ntfy: json = #"{"type":"ntfy","url":"\#(url)","topic":"\#(Receiver.topic)"\#(extra)}"#
        case .gotify: json = #"{"type":"gotify","url":"\#(url)","tokenFile":"notify/gotify.token"\#(extra)}"#
        }
        try! json.write(toFile: inventory + "/notify/\(name ?? kind.rawValue).json", atomically: true, encoding: .utf8)
    }

    func settings(window: Duration = .milliseconds(300), backoff: Duration = .milliseconds(400)) -> NotifierSettings {
        var settings = NotifierSettings()
        settings.publicURL = Self.publicURL
        settings.groupWindow = window
        settings.longestBackoff = backoff
        return settings
    }

    func start(supervised: Bool = false, settings: NotifierSettings? = nil, supervisorSettings: SupervisorService.Settings? = nil) throws {
        observer = ObserverService(configuration: configuration, logger: logger("observer"))
        try observer.start(on: reactor)
        if supervised {
            var chosen = supervisorSettings ?? SupervisorService.Settings()
            chosen.debounce = .milliseconds(20)
            supervisor = SupervisorService(configuration: configuration, logger: logger("supervisor"), settings: chosen)
            try supervisor.start(on: reactor)
        }
        notifier = NotifierService(configuration: configuration, settings: settings ?? self.settings(), logger: logger("notifier", level: .error))
        try notifier.start(on: reactor)
        try turn(for: .milliseconds(50))
    }

    /// A service's event, as it drops them into `audit/`.
    func audit(_ step: ActionEvents.Step, id: String, _ data: JSONObject) throws {
        try ActionEvents(root: root, source: "supervisor").emit(step, id: id, actor: "supervisor", data)
    }

    func proposed(_ id: String, resource: String = "container/nas/jellyfin") throws {
        try audit(.proposed, id: id, ["action": .string("docker-start"), "resource": .string(resource), "drift": .string("mismatch"),
                                      "preview": .array([.string("docker"), .string("start"), .string("jellyfin")])])
    }

    /// What the observer writes for `resource.observed`, through the inbox.
    func observe(_ subject: String, _ data: JSONObject) throws {
        try InboxWriter(inbox: root.inbox, source: "test").emit(type: "resource.observed", subject: subject, data: .object(data))
    }

    static func container(_ name: String) -> String {
        let parts = name.split(separator: "/")
        return #"{"kind":"container","name":"\#(name)","spec":{"state":"running"},"remediate":[{"on":"state","action":"docker-start","args":{"host":"\#(parts[0])","container":"\#(parts[1])"}}]}"#
    }

    func desire(_ name: String) {
        let path = inventory + "/resources/" + name.replacingOccurrences(of: "/", with: "-") + ".json"
        try! Self.container(name).write(toFile: path, atomically: true, encoding: .utf8)
    }
}
