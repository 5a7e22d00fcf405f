#if canImport(Glibc)
import Glibc
#endif
import FSWatch

// Before anything else, and before any thread exists: every thread inherits this mask, so
// SIGTERM/SIGINT/SIGHUP reach the loop's signalfd and nothing else.
do {
    try Signals.block(Signals.daemon)
} catch {
    CommandLine.fail("cannot block signals: \(error)")
}

Memory.mapLargeAllocations()  // bursts give their memory back (see Memory)

let arguments = Array(CommandLine.arguments.dropFirst())
guard let name = arguments.first else {
    Command.printUsage(to: 2)
    exit(2)
}
if name == "--help" || name == "-h" || name == "help" {
    Command.printUsage(to: 1)
    exit(0)
}
guard let command = Command.all.first(where: { $0.name == name }) else {
    CommandLine.warn("unknown command '\(name)'")
    Command.printUsage(to: 2)
    exit(2)
}
let rest = Array(arguments.dropFirst())
if rest.contains("--help") || rest.contains("-h") {
    print(command.help)
    exit(0)
}
exit(command.run(rest))
