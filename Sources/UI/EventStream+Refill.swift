import HomelabCore

extension EventStream {
    /// Tops a behind client up from the log, a page at a time, while less than `lowWater`
    /// is queued for it; at the end of the log it gets the messages it missed and goes live.
    func refill(_ client: SSEClient) {
        client.refillScheduled = false
        guard var cursor = client.cursor else { return }
        defer { if client.isBehind { client.cursor = cursor } }
        var pages = 0
        while client.connection.isOpen && client.connection.pendingBytes < Self.lowWater {
            if pages == Self.pagesPerTurn {
                // A client that reads as fast as it is sent would hold the loop for the whole
                // replay: the rest comes on a later turn, after the others' callbacks.
                scheduleRefill(client)
                return
            }
            let events = cursor.next(maxBytes: Self.pageBytes)
            if events.isEmpty {
                client.sentSeq = max(client.sentSeq, cursor.seq)
                let missed = client.caughtUp()
                if !missed.kinds.isEmpty { client.connection.send(messages(missed.kinds, paths: missed.paths)) }
                return
            }
            client.connection.send(events.flatMap(Self.encode))
            client.sentSeq = cursor.seq
            pages += 1
        }
    }

    private func scheduleRefill(_ client: SSEClient) {
        guard !client.refillScheduled, let reactor = ui.reactor else { return }
        client.refillScheduled = true
        reactor.runSoon { [weak self, weak client] in
            if let self, let client { refill(client) }
        }
    }
}
