import FSWatch
import HomelabCore

/// `state/drift.json`: the supervisor's whole view of drift, for the UI and `/summary`.
extension SupervisorService {
    /// `drift.json` follows changes within 50 ms, written at most once per that interval:
    /// with thousands of resources it is megabytes, and proposals must not wait behind it.
    func scheduleReport() {
        guard !reportPending, let reactor else { return }
        reportPending = true
        reactor.timer(after: .milliseconds(50)) { [unowned self] in
            reportPending = false
            writeReport()
        }
    }

    /// `state/drift.json` (SPEC §5).
    func writeReport() {
        let began = MonotonicTime.now()
        defer { logger.debug("drift.json written in \(String(format2: (MonotonicTime.now() - began).milliseconds)) ms") }
        let bytes = DriftReport.encode(generatedAt: Timestamp.now().iso8601, desiredRevision: revision, worldSeq: world.seq,
                                       encodedEntries: reportEntries.keys.sorted().map { reportEntries[$0]! }, problems: inventory.problems)
        do {
            try AtomicFile.rewrite(bytes, to: root.driftReport)
        } catch {
            logger.warning("could not write \(root.driftReport): \(error)")
        }
    }

    /// A resource's entries in `drift.json`, encoded once when it is evaluated.
    func reportEntry(_ subject: Subject) -> [UInt8]? {
        guard let found = drifts[subject] else { return nil }
        let flaps = flapping[subject] != nil
        return DriftReport.encode(found.map {
            DriftReport.Entry(drift: $0, action: answers[subject]?[$0.kind], flapping: flaps && $0.kind != .unmanaged, wait: waits[subject]?[$0.kind])
        })
    }
}
