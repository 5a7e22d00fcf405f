#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import FSWatch
import TestSupport

@discardableResult
func runLoop(_ reactor: Reactor, timeout: Duration = .seconds(10), until done: () -> Bool) throws -> Bool {
    try reactor.run(until: done, timeout: timeout)
}

func runLoop(_ reactor: Reactor, for duration: Duration) throws { try reactor.run(for: duration) }

/// Everything a watch reported, in order.
final class Recorder {
    var events: [WatchEvent] = []
    var batches = 0

    func record(_ batch: [WatchEvent]) {
        batches += 1
        events.append(contentsOf: batch)
    }

    func count(_ kind: WatchEvent.Kind, _ path: String) -> Int {
        events.filter { $0.kind == kind && $0.path == path }.count
    }

    func paths(_ kind: WatchEvent.Kind) -> Set<String> {
        Set(events.filter { $0.kind == kind }.map(\.path))
    }
}
