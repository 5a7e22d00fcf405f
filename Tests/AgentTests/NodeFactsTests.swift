@testable import Agent
import HomelabCore
import Testing

/// The node's facts from the kernel's files (fixture texts), and when they are worth a report.
@Suite(.timeLimit(.minutes(1))) struct NodeFactsTests {
    @Test func osReleaseGivesThePrettyNameUnquoted() {
        let debian = """
        PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
        NAME="Debian GNU/Linux"
        VERSION_ID="12"
        ID=debian
        """
        #expect(NodeFacts.osName(debian) == "Debian GNU/Linux 12 (bookworm)")
        #expect(NodeFacts.osName("NAME='Alpine Linux'\nID=alpine\n") == "Alpine Linux")
        #expect(NodeFacts.osName(#"PRETTY_NAME="Say \"hi\"""#) == #"Say "hi""#)
        #expect(NodeFacts.osName("ID=x\n") == nil)
    }

    @Test func memoryIsTotalAndTheUnavailablePartAsAWholePercent() throws {
        let meminfo = """
        MemTotal:        8000000 kB
        MemFree:          500000 kB
        MemAvailable:    6000000 kB
        Buffers:          100000 kB
        """
        let memory = try #require(NodeFacts.memory(meminfo))
        #expect(memory.totalBytes == 8_000_000 * 1024)
        #expect(memory.usedPercent == 25)
        #expect(NodeFacts.memory("MemTotal: 100 kB\n") == nil)  // no MemAvailable: no guess
    }

    @Test func loadUptimeAndBootTimeParse() {
        #expect(NodeFacts.load1("0.52 0.48 0.40 1/234 5678\n") == 0.52)
        #expect(NodeFacts.uptime("12345.67 54321.00\n") == 12345)
        #expect(NodeFacts.bootTime("cpu  1 2 3\nintr 5\nbtime 1764000000\nprocesses 9\n") == 1_764_000_000)
        #expect(NodeFacts.bootTime("cpu 1\n") == nil)
        #expect(NodeFacts.percent(1, of: 3) == 33)
        #expect(NodeFacts.percent(5, of: 0) == 0)
    }

    private func facts() -> NodeFacts {
        var facts = NodeFacts()
        facts.hostname = "nas"
        facts.os = "Debian GNU/Linux 12 (bookworm)"
        facts.kernel = "6.1.0-18-amd64"
        facts.bootedAt = 1_764_000_000
        facts.uptimeSeconds = 100
        facts.cpus = 4
        facts.load1 = 1.0
        facts.memory = (8 << 30, 40)
        facts.disks = [("/", 100 << 30, 57)]
        facts.transport = "http"
        return facts
    }

    @Test func onlyMaterialChangesAreReported() {
        let first = facts()
        #expect(first.differs(from: nil))  // always once at start
        var same = first
        same.uptimeSeconds = 9999          // uptime alone never
        same.load1 = 1.01                  // 25.25% rounds to the same whole percent
        same.spooled = 0
        #expect(!same.differs(from: first))
        var load = first
        load.load1 = 1.06                  // 26.5%: another whole percent
        #expect(load.differs(from: first))
        var disk = first
        disk.disks = [("/", 100 << 30, 58)]
        #expect(disk.differs(from: first))
        var kernel = first
        kernel.kernel = "6.1.0-19-amd64"
        #expect(kernel.differs(from: first))
        var docker = first
        docker.dockerVersion = "27.3.1"
        #expect(docker.differs(from: first))
        var gaps = first
        gaps.gaps = 1
        #expect(gaps.differs(from: first))
        var spooled = first
        spooled.spooled = 3                // from empty to not: reported
        #expect(spooled.differs(from: first))
        var more = spooled
        more.spooled = 40                  // more of the same: not
        #expect(!more.differs(from: spooled))
        #expect(first.differs(from: more)) // and back to empty: reported
    }

    @Test func theReportReadsAsTheSpecSays() throws {
        let json = facts().json
        #expect(json["loadPercent"] == .int(25))
        #expect(json["load1"] == .number("1.00"))
        #expect(json["bootedAt"] == .string("2025-11-24T16:00:00Z"))
        #expect(json["disks"]?["/"]?["usedPercent"] == .int(57))
        #expect(json["agent"] == .object(["transport": .string("http"), "spooled": .int(0), "gaps": .int(0)]))
        #expect(json["agentVersion"] == .string(AgentVersion.current))
        #expect(json["docker"] == nil)
    }

    @Test func thisMachineSamples() {
        let facts = NodeFacts.sample(mounts: ["/tmp", "/"])
        #expect(!facts.hostname.isEmpty)
        #expect(!facts.kernel.isEmpty)
        #expect(facts.cpus >= 1)
        #expect(facts.memory != nil)
        #expect(facts.disks.map(\.path) == ["/", "/tmp"])
        #expect(facts.bootedAt != nil && facts.uptimeSeconds != nil && facts.loadPercent != nil)
    }
}
