import FSWatch
import HomelabCore

/// Drift counts by kind over the last hours, for the dashboard's chart: the drift report holds
/// only the present, and no event records it, so the UI keeps a sample each time the counts
/// change while it runs (`GET /api/drift/history`). In memory: a restart starts it again.
final class DriftHistory {
    /// How far back the chart looks, and the most samples kept (a flapping homelab changes
    /// the counts often; the oldest go first).
    static let window: Int64 = 6 * 3600
    static let capacity = 5000
    /// Reading the report (megabytes with thousands of resources) at most this often.
    static let settle: Duration = .seconds(1)

    private struct Sample { var at: Timestamp; var counts: [(kind: String, count: Int)] }
    private let reportPath: String
    private let startedAt = Timestamp.now()
    private var samples: [Sample] = []
    private var timer: LoopTimer?

    init(reportPath: String, reactor: Reactor) {
        self.reportPath = reportPath
        timer = reactor.timer { [unowned self] in record() }
        record()
    }

    /// The report changed: sample it once it has settled.
    func reportChanged() {
        if timer?.isScheduled == false { timer?.schedule(after: Self.settle) }
    }

    private func record(now: Timestamp = .now()) {
        let counts = (DriftReport.read(reportPath)?.countsByKind ?? []).map { (kind: $0.kind.rawValue, count: $0.count) }
        if let last = samples.last, last.counts.elementsEqual(counts, by: { $0.kind == $1.kind && $0.count == $1.count }) { return }
        samples.append(Sample(at: now, counts: counts))
        // Keep one sample older than the window: it is the level the chart starts at.
        let cutoff = now.secondsSinceEpoch - Self.window
        while samples.count > Self.capacity || (samples.count > 1 && samples[1].at.secondsSinceEpoch < cutoff) { samples.removeFirst() }
    }

    /// `{"since": ISO, "samples": [{"at": ISO, "byKind": {KIND: n}}]}`: `since` is when this
    /// UI started counting.
    var json: [UInt8] {
        JSONWriter.encode(.object([
            "since": .string(startedAt.iso8601),
            "samples": .array(samples.map { sample in
                .object(["at": .string(sample.at.iso8601), "byKind": .object(JSONObject(sample.counts.map { (key: $0.kind, value: JSONValue.int($0.count)) }))])
            }),
        ]))
    }
}
