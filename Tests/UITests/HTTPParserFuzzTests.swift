import Foundation
import Testing
import TestSupport
@testable import UI

/// The parser under random and mutated input: no crash, a definite answer for every input,
/// and time linear in its length. Seeded: a failure prints the seed (and the input), and
/// `HOMELAB_FUZZ_SEED=N` replays it.
@Suite(.timeLimit(.minutes(2))) struct HTTPParserFuzzTests {
    static let seeds: [String] = [
        "GET /summary HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /api/events?after=10&limit=5 HTTP/1.1\r\nHost: a\r\nConnection: close\r\nAccept: */*\r\n\r\n",
        "POST /api/actions/a1/approve HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer t\r\nContent-Length: 5\r\n\r\nhello",
        "POST /api/session HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
        "GET http://a:8080/healthz HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    ]
    static let fragments: [String] = [
        "\r\n", "\r\n\r\n", ":", " ", "\t", "\r", "\n", "Host: b\r\n", "Content-Length: ", "Transfer-Encoding: chunked\r\n",
        "99999999999999999999", "18446744073709551616", "-1", "0x10", "ffffffff", "fffffffff", "Expect: 100-continue\r\n",
        "%", "%zz", "?", "&", "=", "http://", "\u{0}", "\u{7f}", "é", ";", "0\r\n\r\n",
    ]

    private func mutate(_ input: [UInt8], _ random: inout SeededGenerator) -> [UInt8] {
        var bytes = input
        for _ in 0...random.below(4) {
            switch random.below(7) {
            case 0 where !bytes.isEmpty:  // flip a byte
                bytes[random.below(bytes.count)] ^= UInt8(truncatingIfNeeded: 1 << random.below(8))
            case 1 where !bytes.isEmpty:  // truncate
                bytes.removeLast(random.below(bytes.count))
            case 2:  // insert a fragment
                bytes.insert(contentsOf: Array(Self.fragments[random.below(Self.fragments.count)].utf8), at: random.below(bytes.count + 1))
            case 3:  // insert random bytes
                bytes.insert(contentsOf: (0..<random.below(16)).map { _ in UInt8(truncatingIfNeeded: random.next()) }, at: random.below(bytes.count + 1))
            case 4:  // duplicate a line
                let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
                if lines.count > 2 {
                    let line = Array(lines[1 + random.below(lines.count - 2)]) + [0x0A]
                    bytes.insert(contentsOf: line, at: bytes.firstIndex(of: 0x0A).map { $0 + 1 } ?? 0)
                }
            case 5:  // a huge number where a digit was
                if let digit = bytes.indices.filter({ bytes[$0] >= 0x30 && bytes[$0] <= 0x39 }).randomElement(using: &random) {
                    bytes.replaceSubrange(digit...digit, with: Array(String(repeating: "9", count: 1 + random.below(40)).utf8))
                }
            default:  // pipeline another seed after it
                bytes += Array(Self.seeds[random.below(Self.seeds.count)].utf8)
            }
        }
        return bytes
    }

    /// The answer must be one of the three, and each must make sense for the input.
    private func check(_ input: [UInt8], _ parser: HTTPParser, seed: UInt64, case number: Int) -> Bool {
        let describe = { "seed \(seed), input \(number): \(String(decoding: input.prefix(300), as: UTF8.self).debugDescription)" }
        switch parser.parse(input[...]) {
        case .request(let request, let consumed):
            #expect(consumed > 0 && consumed <= input.count, "\(describe())")
            #expect(request.path.hasPrefix("/") && request.body.count <= parser.limits.body, "\(describe())")
            return consumed > 0 && consumed <= input.count
        case .needMore, .expectsContinue:
            // Never waiting for more than a request may take.
            #expect(input.count <= parser.limits.maxRequestBytes, "\(describe())")
            return input.count <= parser.limits.maxRequestBytes
        case .failure(let status, let reason):
            #expect((400..<500).contains(status) || status == 501, "\(describe()): \(status) \(reason)")
            return (400..<500).contains(status) || status == 501
        }
    }

    @Test func randomAndMutatedRequestsGetADefiniteAnswer() {
        let seed = ProcessInfo.processInfo.environment["HOMELAB_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x5EED_0001
        print("HTTP parser fuzz: seed \(seed) (HOMELAB_FUZZ_SEED=\(seed) replays it)")
        var random = SeededGenerator(seed: seed)
        let parser = HTTPParser()
        let started = Date()
        var count = 0
        var failures = 0
        while count < 20_000 && Date().timeIntervalSince(started) < 5 && failures < 5 {
            let input: [UInt8]
            if random.below(10) == 0 {
                input = (0..<random.below(512)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            } else {
                input = mutate(Array(Self.seeds[random.below(Self.seeds.count)].utf8), &random)
            }
            if !check(input, parser, seed: seed, case: count) { failures += 1 }
            count += 1
        }
        print("HTTP parser fuzz: \(count) inputs in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        #expect(count >= 1000, "too few inputs in the time: \(count)")
    }

    @Test(arguments: ["request line", "headers", "header value", "chunks", "crlf", "pipelined"])
    func aMebibyteParsesInLinearTime(shape: String) {
        let size = 1 << 20
        let input: [UInt8]
        switch shape {
        case "request line": input = Array("GET /".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: size)
        case "headers": input = Array("GET / HTTP/1.1\r\n".utf8) + Array(String(repeating: "X: y\r\n", count: size / 6).utf8)
        case "header value": input = Array("GET / HTTP/1.1\r\nHost: ".utf8) + [UInt8](repeating: UInt8(ascii: "v"), count: size)
        case "chunks": input = Array("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n".utf8) + Array(String(repeating: "1\r\nx\r\n", count: size / 6).utf8)
        case "crlf": input = [UInt8](repeating: 0x0D, count: size)
        default: input = Array(String(repeating: "GET / HTTP/1.1\r\nHost: a\r\n\r\n", count: size / 27).utf8)
        }
        let started = Date()
        let result = HTTPParser().parse(input[...])
        let elapsed = Date().timeIntervalSince(started)
        // Generous: a quadratic parser takes minutes on a mebibyte; a linear one milliseconds.
        #expect(elapsed < 2, "\(shape): \(elapsed) s")
        switch result {
        case .failure(let status, _): #expect((400..<500).contains(status), "\(shape)")
        case .request(_, let consumed): #expect(shape == "pipelined" && consumed == 27)
        case .needMore, .expectsContinue: Issue.record("\(shape): needs more after 1 MiB")
        }
    }
}

