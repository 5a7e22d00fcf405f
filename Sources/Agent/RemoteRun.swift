#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// One action this agent claimed (docs/remote-actions.md): its child, run under the
/// executor's rules (`ActionRun`), and what is still to tell the VPS — that it started, its
/// output, its result — each posted in that order by `RemoteActions`.
final class RemoteRun {
    /// Output held while the VPS cannot take it; beyond this it is dropped (and said so).
    static let maxPendingOutput = 4 << 20
    /// One output request carries at most this much (the UI's limit).
    static let maxChunk = 64 << 10
    /// The PATH a child gets, as the executor's.
    static let minimalPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    /// What a child keeps of the agent's environment besides the minimal variables: where the
    /// node's engine and the docker CLI's configuration are.
    static let passed = ["DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY"]

    let id: String
    let claimedAt = MonotonicTime.now()
    private(set) var run: ActionRun?
    /// `started` is still to be posted (with the pid and time).
    var startedBody: [UInt8]?
    /// Output not yet posted.
    private(set) var output: [UInt8] = []
    private(set) var dropped = 0
    /// The log said that output is being dropped.
    var droppedSaid = false
    /// The result, once the child ended (or was never started); posted after the output.
    private(set) var result: [UInt8]?
    private(set) var ok = false
    /// The VPS no longer counts this run (409): nothing more is posted.
    var abandoned = false

    init(id: String) { self.id = id }

    var isRunning: Bool { run != nil }

    /// Starts `argv` (the claim's answer) unless the node refuses it; `changed` is called when
    /// there is something new to post, `finished` once the child ended.
    func start(argv: [String], timeoutSeconds: Int, instance: String, allow: ActionAllowList, settings: AgentSettings, work: String,
               reactor: Reactor, changed: @escaping () -> Void, finished: @escaping (RemoteRun) -> Void) -> String? {
        guard let program = argv.first else { return refuse("the claim's answer holds no argv", instance: instance) }
        guard allow.allows(program) else { return refuse(allow.refusal(program), instance: instance) }
        guard let path = ChildProcess.locate(program, path: Self.minimalPath) else {
            return refuse("command not found: \(program) (PATH=\(Self.minimalPath))", instance: instance)
        }
        var environment = settings.environment.filter { Self.passed.contains($0.key) && !$0.value.isEmpty }
        environment.merge(["PATH": Self.minimalPath, "HOME": work, "LANG": "C.UTF-8", "HOMELAB_ACTION_ID": id]) { $1 }
        do {
            if mkdir(work, 0o700) != 0 && Errno.current != .fileExists { throw SystemError("mkdir", Errno.current, subject: work) }
            // The whole output stays on the node too, beside HOME, while the run is in hand.
            let log = try FileDescriptor.open(work + ".log", O_WRONLY | O_CREAT | O_TRUNC | O_APPEND)
            let run = try ActionRun(id: id, resource: "", argv: [path] + argv.dropFirst(), environment: environment, folder: work, log: log,
                                    timeout: timeoutSeconds, grace: settings.killGrace, reactor: reactor, output: { [unowned self] chunk in
                                        take(chunk)
                                        changed()
                                    }) { [unowned self] run, outcome in
                self.run = nil
                finish(instance: instance, Self.result(run, outcome))
                finished(self)
            }
            self.run = run
            startedBody = Self.body(["instance": .string(instance), "pid": .int(Int(run.pid)), "startedAt": .string(run.startedAt.iso8601Milliseconds)])
            return nil
        } catch {
            return refuse("could not start: \(error)", instance: instance)
        }
    }

    /// Nothing runs: the result says why. Returns the reason.
    func refuse(_ reason: String, instance: String) -> String {
        finish(instance: instance, ActionFile.Result(startedAt: Timestamp.now().iso8601Milliseconds, error: reason))
        return reason
    }

    /// The VPS ended it (its lease): the child is asked to stop, nothing more is posted.
    func abandon() {
        abandoned = true
        output = []
        run?.interrupt()
    }

    /// The agent is stopping: the child goes now (it would die with the agent anyway).
    func abort() { run?.abort() }

    /// The next output request's body, at most `maxChunk`; `sent` removes it once acknowledged.
    func nextChunk() -> [UInt8]? { output.isEmpty ? nil : Array(output.prefix(Self.maxChunk)) }
    func sent(_ count: Int) { output.removeFirst(min(count, output.count)) }

    private func take(_ chunk: ArraySlice<UInt8>) {
        guard !abandoned else { return }
        let room = max(0, Self.maxPendingOutput - output.count)
        output.append(contentsOf: chunk.prefix(room))
        dropped += chunk.count - min(room, chunk.count)
    }

    private func finish(instance: String, _ result: ActionFile.Result) {
        var result = result
        result.finishedAt = result.finishedAt ?? Timestamp.now().iso8601Milliseconds
        ok = result.error == nil && result.exitCode == 0
        if dropped > 0 { output += Array("\n[homelab agent: \(dropped) bytes of output were dropped while the VPS could not take them]\n".utf8) }
        var json = result.json
        json["instance"] = .string(instance)
        self.result = Self.body(json)
    }

    /// The executor's reading of an outcome (SPEC §6): 128+N for a signal, the timeout said.
    static func result(_ run: ActionRun, _ outcome: ActionRun.Outcome) -> ActionFile.Result {
        var result = ActionFile.Result(startedAt: run.startedAt.iso8601Milliseconds, durationMs: outcome.duration.milliseconds, outputTail: outcome.outputTail)
        switch outcome.exit {
        case .exited(let code): result.exitCode = Int(code)
        case .signaled(let signal):
            result.exitCode = 128 + Int(signal)
            result.signal = Signals.name(signal)
        }
        if outcome.timedOut {
            result.error = "timed out after \(run.timeout) s: sent SIGTERM" + (outcome.killed ? ", then SIGKILL after the grace period" : "")
        }
        return result
    }

    static func body(_ object: JSONObject) -> [UInt8] { JSONWriter.encode(.object(object)) }
}
