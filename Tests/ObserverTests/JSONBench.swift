#if canImport(Glibc)
import Glibc
#endif
import Testing
import HomelabCore
@testable import Observer

/// The figures `bench/json.sh` prints, from a release build: off in the ordinary suite (a
/// debug build's timings mean nothing), on with `HOMELAB_BENCH_JSON=1`.
@Suite(.timeLimit(.minutes(5)), .enabled(if: getenv("HOMELAB_BENCH_JSON") != nil)) struct JSONBench {
    private func best(_ runs: Int, _ body: () -> Void) -> Duration {
        let clock = ContinuousClock()
        return (0..<runs).map { _ in clock.measure(body) }.min()!
    }

    private func milliseconds(_ duration: Duration) -> String {
        let value = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        return String(Int((value * 100).rounded())) .withDecimalPoint
    }

    @Test func figures() throws {
        // One event just under 1 MiB whose data has 100,000 (short, base-36) keys.
        var text = #"{"type":"custom.keys","source":"bench","data":{"#
        for index in 0..<100_000 { text += (index == 0 ? "" : ",") + "\"\(String(index, radix: 36))\":\(index % 100)" }
        text += "}}"
        let event = Array(text.utf8)
        precondition(event.count <= EventValidation.maxBytes)
        let parse = best(5) { _ = try? JSONParser.parse(event) }

        // A snapshot of 40,000 containers under one node.
        var snapshot = #"{"type":"resource.snapshot","source":"node/nas","subject":"container/nas","data":{"resources":{"#
        for index in 0..<40_000 { snapshot += (index == 0 ? "" : ",") + "\"nas/\(String(index, radix: 36))\":{}" }
        snapshot += "}}}"
        let bytes = Array(snapshot.utf8)
        let fold = best(3) {
            guard case .success(let inbox) = EventValidation.validate(bytes) else { fatalError("snapshot refused") }
            World().apply(inbox.logged(seq: 1, receivedAt: "2026-11-26T15:00:00.000Z"))
        }
        print("json-bench event_bytes=\(event.count) keys=100000 parse_ms=\(milliseconds(parse))")
        print("json-bench snapshot_bytes=\(bytes.count) names=40000 validate_fold_ms=\(milliseconds(fold))")
    }
}

private extension String {
    /// "1234" (hundredths) → "12.34".
    var withDecimalPoint: String {
        let padded = count < 3 ? String(repeating: "0", count: 3 - count) + self : self
        return padded.dropLast(2) + "." + padded.suffix(2)
    }
}
