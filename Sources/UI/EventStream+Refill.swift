import HomelabCore

extension EventStream {
    /// Queues a behind client for refilling from the log. The refill runs on a later turn,
    /// with the others waiting, within one budget of pages per loop turn for all of them:
    /// eight clients replaying a large log from 0 would otherwise each read 16 pages in the
    /// same turn, and every other connection would wait for the 8 MB of parsing (a healthz
    /// stalled for seconds in a debug build).
    func refill(_ client: SSEClient) {
        guard !client.refillScheduled else { return }
        client.refillScheduled = true
        refillQueue.append(client)
        scheduleRefillTurn()
    }

    private func scheduleRefillTurn() {
        guard !refillTurnScheduled, let reactor = ui.reactor else { return }
        refillTurnScheduled = true
        reactor.runSoon { [weak self] in self?.refillTurn() }
    }

    /// Round robin over the queued clients, `pagesPerSlice` each, until the turn's pages are spent.
    private func refillTurn() {
        refillTurnScheduled = false
        var budget = Self.pagesPerTurn
        while budget > 0 && !refillQueue.isEmpty {
            let client = refillQueue.removeFirst()
            client.refillScheduled = false
            let (used, wantsMore) = topUp(client, maxPages: min(budget, Self.pagesPerSlice))
            budget -= used
            if wantsMore { refill(client) }
        }
        if !refillQueue.isEmpty { scheduleRefillTurn() }
    }

    /// Tops a behind client up from the log, a page at a time, while less than `lowWater` is
    /// queued for it; at the end of the log it gets the messages it missed and goes live.
    /// Returns the pages read and whether it stopped only for want of pages.
    private func topUp(_ client: SSEClient, maxPages: Int) -> (pages: Int, wantsMore: Bool) {
        guard var cursor = client.cursor else { return (0, false) }
        defer { if client.isBehind { client.cursor = cursor } }
        var pages = 0
        while client.connection.isOpen && client.connection.pendingBytes < Self.lowWater {
            if pages == maxPages { return (pages, true) }
            let before = cursor.seq
            let events = cursor.next(maxBytes: Self.pageBytes)
            if let first = events.first, first.seq > before + 1 {
                // The log is gap-free: a jump means retention removed what the client asked for
                // (a Last-Event-ID older than the log's start). It is told, then gets the rest.
                client.connection.send(message("resync", data: JSONWriter.encode(.object(["oldestSeq": .int(first.seq)]))))
            }
            if events.isEmpty {
                client.sentSeq = max(client.sentSeq, cursor.seq)
                let missed = client.caughtUp()
                if !missed.kinds.isEmpty { client.connection.send(messages(missed.kinds, paths: missed.paths)) }
                return (pages, false)
            }
            client.connection.send(events.flatMap(Self.encode))
            client.sentSeq = cursor.seq
            pages += 1
        }
        return (pages, false)  // full: its connection's drained callback brings it back
    }
}
