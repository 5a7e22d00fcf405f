import HomelabCore

/// How spooled events leave the node: into a local inbox, or over HTTP to the VPS (SPEC §11).
/// One delivery at a time; the `Delivery` pump decides what to send and when to retry.
protocol Transport: AnyObject {
    /// `http` or `inbox`, as the node's facts and the status say.
    var kind: String { get }
    /// Where events go, for log lines.
    var target: String { get }
    var isConnected: Bool { get }
    /// Delivers `batch` (spooled lines, oldest first), then `extra` (events not acknowledged
    /// through this delivery: reports sent ahead of a backlog, the newest heartbeat), and calls
    /// `completion` once — possibly before returning — with results for the batch's lines.
    func send(_ batch: Spool.Batch, extra: [[UInt8]], completion: @escaping (DeliveryOutcome) -> Void)
    /// SIGHUP: read what may have changed (the token file).
    func reload()
    func close()
}

/// What the receiver said of one posted event.
enum EventResult: Equatable {
    case accepted
    case duplicate
    /// It will never pass: acknowledged all the same, and kept in `rejected/` with the reason.
    case rejected(String)
}

/// What a transport says of one delivery.
enum DeliveryOutcome {
    /// One result for each spooled event of the batch, in order.
    case delivered([EventResult])
    /// Nothing acknowledged: try again after the back-off. Said once per outage, at `level`.
    case failed(String, level: LogLevel)
    /// The receiver found the request too large (HTTP 413): send fewer at once.
    case tooLarge
}
