#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport
import FSWatch
import HomelabCore
@testable import UI

/// Retention removed the log's start (docs/observer.md): a reader asking for events before the
/// retained range is told to resync — never handed a silent gap.
@Suite(.serialized, .timeLimit(.minutes(1))) struct ResyncTests {
    @Test func apiEventsBeforeTheRetainedRangeAnswers410Resync() throws {
        let ui = try UIFixture()
        ui.log(101...120, segment: 101)  // seq 1…100 removed by retention
        let (status, response) = ui.request("GET", "/api/events?after=50")
        #expect(status == 410)
        let body = response.components(separatedBy: "\r\n\r\n").dropFirst().joined()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        #expect(object["error"] as? String == "resync" && object["oldestSeq"] as? Int == 101)
        #expect(ui.request("GET", "/api/events?after=0").0 == 410)
        let (ok, page) = ui.request("GET", "/api/events?after=100&limit=5")
        #expect(ok == 200 && page.contains("\"seq\":101") && page.contains("\"seq\":105") && !page.contains("\"seq\":106"))
        #expect(ui.request("GET", "/api/events?after=119").0 == 200)
    }

    @Test func sseReplayBeforeTheRetainedRangeSaysResyncThenGoesOnFromTheOldest() throws {
        let ui = try UIFixture()
        ui.log(101...120, segment: 101)
        let stream = ui.stream(["Last-Event-ID: 40"])
        defer { close(stream) }
        let text = ui.read(stream, timeout: 3) { $0.contains("id: 120\n") }
        let resync = try #require(text.range(of: "event: resync\ndata: {\"oldestSeq\":101}\n\n"))
        let first = try #require(text.range(of: "id: 101\nevent: event\n"))
        #expect(resync.upperBound <= first.lowerBound)
        // A client within the retained range gets no resync.
        let current = ui.stream(["Last-Event-ID: 105"])
        defer { close(current) }
        let rest = ui.read(current, timeout: 3) { $0.contains("id: 120\n") }
        #expect(rest.contains("id: 106\n") && !rest.contains("event: resync"))
    }

    @Test func summaryAndMetricsSayWhetherIngestIsPaused() throws {
        let ui = try UIFixture()
        #expect(ui.request("GET", "/summary").1.contains(#""ingest":{"paused":false}"#))
        let paused: JSONObject = ["ingest": .object(["paused": .bool(true), "reason": .string("free space 5 MB below HOMELAB_MIN_FREE_MB=8"),
                                                       "freeMB": .int(5), "minFreeMB": .int(8), "since": .string("2026-11-26T15:00:00.000Z")])]
        try ServiceStatus(service: "observer", pid: 1, startedAt: "2026-11-26T15:00:00Z", heartbeatAt: Timestamp.now().iso8601Milliseconds,
                          details: paused).write(root: ui.root)
        usleep(1_200_000)  // the summary is cached for a second
        #expect(ui.request("GET", "/summary").1.contains(#""ingest":{"paused":true,"reason":"free space 5 MB below HOMELAB_MIN_FREE_MB=8""#))
        let metrics = ui.request("GET", "/metrics").1
        #expect(metrics.contains("homelab_ingest_paused 1") && metrics.contains("homelab_disk_free_bytes "))
        let post = ui.request("POST", "/api/events", headers: ["Authorization: Bearer s3cret", "Content-Type: application/cloudevents+json"],
                              body: #"{"type":"x.y","source":"s","id":"1"}"#)
        #expect(post.0 == 503 && post.1.contains("Retry-After: 30") && post.1.contains("ingest is paused: free space 5 MB"))
    }
}
