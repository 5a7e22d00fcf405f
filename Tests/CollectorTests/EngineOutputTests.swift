@testable import Collector
import HomelabCore
import Testing

/// What the collector makes of the docker CLI's lines.
@Suite(.timeLimit(.minutes(2))) struct EngineOutputTests {
    private func event(_ text: String) -> EngineEvent? { EngineEvent.parse(Array(text.utf8)) }

    @Test func stateChangesAskForAnInspectAndHealthCheckExecsDoNot() {
        let start = event(#"{"status":"start","id":"abc","Type":"container","Action":"start","Actor":{"ID":"abc","Attributes":{"name":"web","image":"nginx"}}}"#)
        #expect(start == EngineEvent(id: "abc", name: "web", effect: .inspect, implies: ["state": "running"]))
        let health = event(#"{"Type":"container","Action":"health_status: unhealthy","Actor":{"ID":"abc","Attributes":{"name":"web"}}}"#)
        #expect(health?.effect == .inspect)
        #expect(health?.implies == ["health": "unhealthy"])
        #expect(event(#"{"Type":"container","Action":"die","Actor":{"ID":"abc","Attributes":{"name":"web","exitCode":"137"}}}"#)?.implies == ["state": "exited"])
        #expect(event(#"{"Type":"container","Action":"stop","Actor":{"ID":"abc","Attributes":{"name":"web"}}}"#)?.implies == [:])
        let exec = event(#"{"Type":"container","Action":"exec_start: homelab health ui","Actor":{"ID":"abc","Attributes":{"name":"web"}}}"#)
        #expect(exec?.effect == EngineEvent.Effect.none)
    }

    @Test func destroyAndRenameNameWhatIsGone() {
        #expect(event(#"{"Type":"container","Action":"destroy","Actor":{"ID":"abc","Attributes":{"name":"web"}}}"#)?.effect == .destroyed)
        let renamed = event(#"{"Type":"container","Action":"rename","Actor":{"ID":"abc","Attributes":{"name":"web2","oldName":"/web"}}}"#)
        #expect(renamed == EngineEvent(id: "abc", name: "web2", effect: .renamed(from: "web")))
    }

    @Test func otherObjectsAndNoiseAreNotEvents() {
        #expect(event(#"{"Type":"network","Action":"connect","Actor":{"ID":"n1","Attributes":{}}}"#) == nil)
        #expect(event("Error response from daemon: connection refused") == nil)
        #expect(event("") == nil)
    }

    @Test func anInspectLineBecomesTheObservedProperties() throws {
        let line = #"{"id":"abc","name":"/jellyfin","state":{"Status":"running","StartedAt":"2026-11-26T15:00:00Z","Health":{"Status":"healthy","Log":[]}},"#
            + #""image":"jellyfin/jellyfin:10.9.7","labels":{"com.docker.compose.project":"media","com.docker.compose.service":"jellyfin","other":"x"}}"#
        let report = try #require(ContainerReport.parse(Array(line.utf8)))
        #expect(report.name == "jellyfin")
        #expect(report.observed == [
            "state": .string("running"), "image": .string("jellyfin/jellyfin:10.9.7"), "health": .string("healthy"),
            "startedAt": .string("2026-11-26T15:00:00Z"), "composeProject": .string("media"), "composeService": .string("jellyfin"),
        ])
    }

    @Test func withoutHealthCheckOrLabelsThoseKeysAreAbsent() throws {
        let line = #"{"id":"abc","name":"/db","state":{"Status":"exited","StartedAt":"2026-11-26T15:00:00Z"},"image":"postgres:16","labels":null}"#
        let report = try #require(ContainerReport.parse(Array(line.utf8)))
        #expect(report.observed == ["state": .string("exited"), "image": .string("postgres:16"), "startedAt": .string("2026-11-26T15:00:00Z")])
        #expect(ContainerReport.parse(Array("Error: No such object: abc".utf8)) == nil)
    }
}
