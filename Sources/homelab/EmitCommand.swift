#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

extension Command {
    static let emit = Command(
        name: "emit",
        summary: "drop one event into the inbox safely",
        help: """
        usage: homelab emit --type TYPE --source SOURCE [--subject KIND/NAME] [--data JSON]
                            [--id ID] [--time RFC3339] [--inbox FOLDER]

        Writes one CloudEvents JSON file into the inbox under a hidden temporary name, then
        renames it into place, so the observer never sees half a file. The event is checked
        against the observer's rules first; a refusal is printed and nothing is written.
        Prints the path of the dropped file.

          --id      default: a fresh random id
          --time    default: now
          --inbox   default: $HOMELAB_ROOT/inbox

        example: homelab emit --type resource.observed --source node/nas \\
                   --subject container/nas/jellyfin --data '{"state":"exited"}'
        """,
        run: runEmit
    )

    private static func runEmit(_ arguments: [String]) -> Int32 {
        guard let options = Options.parse(arguments, command: "emit", valued: ["--type", "--source", "--subject", "--data", "--id", "--time", "--inbox"])
        else { return 2 }
        guard let type = options.values["--type"], let source = options.values["--source"] else {
            CommandLine.warn("emit: --type and --source are required (see homelab emit --help)")
            return 2
        }
        var data: JSONValue?
        if let text = options.values["--data"] {
            do {
                data = try JSONParser.parse(Array(text.utf8))
            } catch {
                CommandLine.warn("emit: --data is not JSON: \(error)")
                return 2
            }
        }
        let inbox: String
        if let given = options.values["--inbox"] {
            inbox = given
        } else {
            guard let configured = Configuration.forCommand("emit")?.root.inbox else { return 2 }
            inbox = configured
        }
        var event: JSONObject = [
            "specversion": .string("1.0"), "id": .string(options.values["--id"] ?? Digest.randomHex()),
            "source": .string(source), "type": .string(type),
        ]
        if let subject = options.values["--subject"] { event["subject"] = .string(subject) }
        event["time"] = .string(options.values["--time"] ?? Timestamp.now().iso8601Milliseconds)
        if let data { event["data"] = data }
        let bytes = JSONWriter.encode(.object(event)) + [0x0A]
        if let refusal = InboxRules.refusal(bytes) {
            CommandLine.warn("emit: the observer would refuse this event: \(refusal)")
            return 2
        }
        let path: String
        do {
            path = try InboxWriter(inbox: inbox, source: source).drop(bytes)
        } catch {
            CommandLine.warn("emit: \(error)")
            return 1
        }
        print(path)
        return 0
    }
}
