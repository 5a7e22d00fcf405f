#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// `homelab collect` refuses what it cannot do with one line and exit 2 (the real engine is
/// Tests/docker/collector_test.py's).
@Suite(.timeLimit(.minutes(5))) struct CollectCommandTests {
    @Test func badArgumentsAreOneLineAndExit2() throws {
        let fixture = try RuntimeFixture()
        let cases: [([String], [String: String], String)] = [
            (["collect"], [:], "homelab: collect: what to collect? only 'docker' is known (see homelab collect --help)\n"),
            (["collect", "podman"], [:], "homelab: collect: what to collect? only 'docker' is known (see homelab collect --help)\n"),
            (["collect", "docker", "--host", "bad/name"], [:], "homelab: collect: --host: \"bad/name\" is not a valid name ([A-Za-z0-9][A-Za-z0-9._-]*)\n"),
            (["collect", "docker", "--inbox", fixture.root + "/missing"], [:], "homelab: collect: --inbox: \(fixture.root)/missing is not a folder\n"),
            (["collect", "docker"], ["PATH": fixture.root], "homelab: collect: the docker CLI is not on PATH\n"),
        ]
        for (arguments, extra, expected) in cases {
            let (status, _, errors) = try HomelabProcess.run(arguments, environment: fixture.environment.merging(extra) { $1 })
            #expect(status == 2, "\(arguments)")
            #expect(errors == expected)
        }
    }
}
