import Foundation
import Testing
import TestSupport
import HomelabCore

@Suite(.timeLimit(.minutes(1))) struct SummaryTests {
    private func services(_ root: RuntimeRoot) throws -> JSONObject {
        try #require(JSONParser.parse(Summary.build(root: root, heartbeatSeconds: 15)).object?["services"]?.object)
    }

    /// A collector that died used to look green: it wrote heartbeats but had no place in the summary.
    @Test func aCollectorThatRanIsReportedUpOrDown() throws {
        let folder = TemporaryFolder("summary")
        let root = RuntimeRoot(folder.path)
        try root.create()
        #expect(try services(root).keys == ["observer", "supervisor", "executor", "ui"])

        let now = Timestamp.now().iso8601Milliseconds
        try ServiceStatus(service: "collector", pid: 1, startedAt: now, heartbeatAt: now).write(root: root)
        #expect(try services(root)["collector"]?["up"]?.bool == true)

        try ServiceStatus(service: "collector", pid: 1, startedAt: now, heartbeatAt: now, stoppedAt: now).write(root: root)
        #expect(try services(root)["collector"]?["up"]?.bool == false)
        #expect(try services(root)["observer"]?["up"]?.bool == false)
    }
}
