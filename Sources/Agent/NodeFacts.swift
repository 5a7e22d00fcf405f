#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// What the agent says of its node (`resource.observed node/NAME`, SPEC §11): who it is
/// (host name, OS, kernel, boot, CPUs, sizes, Docker and agent versions) and how it is doing
/// (load, memory, disks as whole percents), plus the agent's own delivery state.
///
/// Sampled at every heartbeat and reported only when it changes materially (`differs`): an
/// identity field, a whole percent, the gap count, or the spool going from empty to not or
/// back. Uptime and the raw load alone never trigger a report.
struct NodeFacts: Equatable {
    var hostname = ""
    var os: String?
    var kernel = ""
    /// Seconds since the epoch (`btime` of /proc/stat: stable, unlike now − uptime).
    var bootedAt: Int64?
    var uptimeSeconds: Int?
    var cpus = 1
    var load1: Double?
    var memory: (totalBytes: Int, usedPercent: Int)?
    var disks: [(path: String, totalBytes: Int, usedPercent: Int)] = []
    var dockerVersion: String?
    var agentVersion = AgentVersion.current
    var transport = ""
    var spooled = 0
    var gaps = 0

    /// Load over CPUs, as a whole percent.
    var loadPercent: Int? { load1.map { Int(($0 / Double(max(cpus, 1)) * 100).rounded()) } }

    /// The `data` of the report.
    var json: JSONObject {
        var object: JSONObject = ["hostname": .string(hostname)]
        if let os { object["os"] = .string(os) }
        object["kernel"] = .string(kernel)
        if let bootedAt { object["bootedAt"] = .string(Timestamp(secondsSinceEpoch: bootedAt).iso8601) }
        if let uptimeSeconds { object["uptimeSeconds"] = .int(uptimeSeconds) }
        object["cpus"] = .int(cpus)
        if let load1, let loadPercent {
            object["load1"] = .number(String(format2: load1))
            object["loadPercent"] = .int(loadPercent)
        }
        if let memory { object["memory"] = .object(["totalBytes": .int(memory.totalBytes), "usedPercent": .int(memory.usedPercent)]) }
        var disks = JSONObject()
        for disk in self.disks { disks[disk.path] = .object(["totalBytes": .int(disk.totalBytes), "usedPercent": .int(disk.usedPercent)]) }
        object["disks"] = .object(disks)
        if let dockerVersion { object["docker"] = .string(dockerVersion) }
        object["agentVersion"] = .string(agentVersion)
        object["agent"] = .object(["transport": .string(transport), "spooled": .int(spooled), "gaps": .int(gaps)])
        return object
    }

    /// The report without what may change without mattering: uptime, the raw load, and how
    /// many events are spooled (only whether any are).
    private var material: JSONObject {
        var object = json
        object["uptimeSeconds"] = nil
        object["load1"] = nil
        object["agent"] = .object(["transport": .string(transport), "spooled": .bool(spooled > 0), "gaps": .int(gaps)])
        return object
    }

    /// Whether these facts are worth a report after `previous`.
    func differs(from previous: NodeFacts?) -> Bool {
        guard let previous else { return true }
        return material != previous.material
    }

    static func == (a: NodeFacts, b: NodeFacts) -> Bool { a.json == b.json }
}

// MARK: Gathering

extension NodeFacts {
    /// The node as it is now; the agent fills in Docker and its own state.
    static func sample(mounts: [String]) -> NodeFacts {
        var facts = NodeFacts()
        facts.hostname = hostName() ?? "localhost"
        facts.os = text("/etc/os-release").flatMap(osName) ?? text("/usr/lib/os-release").flatMap(osName)
        var names = utsname()
        if uname(&names) == 0 {
            facts.kernel = withUnsafeBytes(of: names.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        facts.bootedAt = text("/proc/stat").flatMap(bootTime)
        facts.uptimeSeconds = text("/proc/uptime").flatMap(uptime)
        facts.cpus = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        facts.load1 = text("/proc/loadavg").flatMap(load1)
        facts.memory = text("/proc/meminfo").flatMap(memory)
        for path in ["/"] + mounts.filter({ $0 != "/" }) {
            if let disk = disk(path) { facts.disks.append((path, disk.totalBytes, disk.usedPercent)) }
        }
        return facts
    }

    private static func text(_ path: String) -> String? {
        FileContents.read(path, limit: 1 << 20).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The host name as the kernel has it.
    static func hostName() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return nil }
        let name = String(cBuffer: buffer)
        return name.isEmpty ? nil : name
    }

    /// Size and use of the filesystem holding `path`, as `df` counts them (used over what
    /// users may fill). The corresponding C function is `statvfs`.
    static func disk(_ path: String) -> (totalBytes: Int, usedPercent: Int)? {
        var info = statvfs()
        guard statvfs(path, &info) == 0, info.f_blocks > 0 else { return nil }
        let unit = Int(info.f_frsize)
        let used = Int(info.f_blocks - info.f_bfree)
        let usable = used + Int(info.f_bavail)
        return (Int(info.f_blocks) * unit, usable > 0 ? percent(used, of: usable) : 0)
    }
}

// MARK: Parsing (pure: fixture text in, facts out)

extension NodeFacts {
    /// `PRETTY_NAME` of os-release(5), unquoted (`NAME` when there is none).
    static func osName(_ osRelease: String) -> String? {
        var fields: [String: String] = [:]
        for line in osRelease.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            var value = Substring(line[line.index(after: equals)...].trimmingWhitespace())
            if value.count >= 2, let quote = value.first, quote == "\"" || quote == "'", value.last == quote {
                value = value.dropFirst().dropLast()
            }
            fields[line[..<equals].trimmingWhitespace()] = value.replacingEscapes()
        }
        return (fields["PRETTY_NAME"] ?? fields["NAME"]).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Total memory and the part not available (MemTotal − MemAvailable) as a whole percent.
    static func memory(_ meminfo: String) -> (totalBytes: Int, usedPercent: Int)? {
        var total: Int?, available: Int?
        for line in meminfo.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == ":" })
            guard parts.count >= 2, let kilobytes = Int(parts[1]) else { continue }
            if parts[0] == "MemTotal" { total = kilobytes }
            if parts[0] == "MemAvailable" { available = kilobytes }
        }
        guard let total, total > 0, let available else { return nil }
        return (total * 1024, percent(total - available, of: total))
    }

    /// The one-minute load average: the first field of /proc/loadavg.
    static func load1(_ loadavg: String) -> Double? {
        loadavg.split(separator: " ").first.flatMap { Double($0) }
    }

    /// Whole seconds since boot: the first field of /proc/uptime.
    static func uptime(_ text: String) -> Int? {
        text.split(separator: " ").first.flatMap { Double($0) }.map { Int($0) }
    }

    /// The boot time (`btime`) of /proc/stat, in seconds since the epoch.
    static func bootTime(_ stat: String) -> Int64? {
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Int64(line.dropFirst(6).trimmingWhitespace())
        }
        return nil
    }

    static func percent(_ part: Int, of whole: Int) -> Int {
        guard whole > 0 else { return 0 }
        return Int((Double(part) / Double(whole) * 100).rounded())
    }
}

private extension Substring {
    /// os-release's shell-style escapes (`\"`, `\\`, `` \` ``, `\$`).
    func replacingEscapes() -> String {
        var out = ""
        var escaped = false
        for character in self {
            if escaped || character != "\\" {
                out.append(character)
                escaped = false
            } else {
                escaped = true
            }
        }
        return out
    }
}
