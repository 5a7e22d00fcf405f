#if canImport(Glibc)
import Glibc
#endif
import FSWatch

extension Command {
    /// Prints what FSWatch sees under a folder, one line per event: the reactor on its own,
    /// for diagnosing a runtime root and for measuring the loop against `inotifywait -m`.
    static let watch = Command(
        name: "watch",
        summary: "print file events under a folder as the reactor sees them",
        help: """
        usage: homelab watch FOLDER [--recursive] [--appends] [--hidden]

        Prints one line per event under FOLDER ("ready PATH", "removed PATH", "appended PATH",
        "directoryAdded PATH", "directoryRemoved PATH"), starting with the files already there.
        Files count as ready once renamed in or closed after writing. Stops cleanly on
        SIGTERM or Ctrl-C and prints how many events it saw.

          --recursive   follow the whole tree, including subfolders created later
          --appends     also report writes to files in place (for tailed files)
          --hidden      also report names starting with '.' (temporaries, skipped by default)
        """,
        run: runWatch
    )

    private static func runWatch(_ arguments: [String]) -> Int32 {
        var options: WatchOptions = []
        var folder: String?
        for argument in arguments {
            switch argument {
            case "--recursive": options.insert(.recursive)
            case "--appends": options.insert(.appends)
            case "--hidden": options.insert(.hidden)
            default:
                if argument.hasPrefix("-") || folder != nil {
                    CommandLine.warn("watch: unexpected argument '\(argument)' (see homelab watch --help)")
                    return 2
                }
                folder = argument
            }
        }
        guard let folder else {
            CommandLine.warn("watch: which folder? (see homelab watch --help)")
            return 2
        }
        var seen = 0
        do {
            let reactor = try Reactor()
            try reactor.stopOnTermination { signal in CommandLine.warn("watch: \(Signals.name(signal)), stopping") }
            let output = OutputBuffer()
            let watch = try DirectoryWatch(reactor: reactor, root: folder, options: options) { events in
                seen += events.count
                for event in events { output.append(event.description) }
                output.flush()
            }
            CommandLine.warn("watch: watching \(watch.root)\(options.contains(.recursive) ? " (recursive)" : "")")
            try reactor.run()
            CommandLine.warn("watch: stopped after \(seen) events, \(watch.overflows) queue overflows, \(watch.rescans) rescans")
            reactor.shutdown()
            return 0
        } catch {
            CommandLine.warn("watch: \(error)")
            return 1
        }
    }
}

/// Lines gathered per batch and written to stdout with one call.
private final class OutputBuffer {
    private var bytes: [UInt8] = []

    func append(_ line: String) {
        bytes.append(contentsOf: line.utf8)
        bytes.append(10)
    }

    func flush() {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(1, $0.baseAddress! + offset, $0.count - offset) }
            if n <= 0 { break }
            offset += n
        }
        bytes.removeAll(keepingCapacity: true)
    }
}
