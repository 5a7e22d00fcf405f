import FSWatch
import HomelabCore

/// `--inbox PATH` (the VPS itself, beside the observer): each event dropped into PATH as one
/// file (SPEC §4.1), durably, and then it counts as acknowledged. A repeat after a crash
/// between the drop and the cursor is harmless: the observer de-duplicates `(source, id)`.
final class InboxTransport: Transport {
    let kind = "inbox"
    let inbox: String
    private let writer: InboxWriter
    var target: String { inbox }
    var isConnected: Bool { fileKind(inbox) == .directory }

    init(inbox: String, source: String) {
        self.inbox = inbox
        writer = InboxWriter(inbox: inbox, source: source)
    }

    func send(_ batch: Spool.Batch, extra: [[UInt8]], completion: @escaping (DeliveryOutcome) -> Void) {
        do throws(SystemError) {
            for index in 0..<batch.count { try writer.drop(Array(batch.bytes[batch.lines[index].lowerBound...batch.lines[index].upperBound])) }
            for event in extra { try writer.drop(event) }
            // Each file is fsynced by the drop; one folder fsync makes the renames durable.
            try AtomicFile.syncFolder(inbox)
        } catch {
            return completion(.failed("cannot drop events into \(inbox): \(error)", level: .error))
        }
        completion(.delivered(Array(repeating: .accepted, count: batch.count)))
    }

    func reload() {}
    func close() {}
}
