#if canImport(Glibc)
import Glibc
#endif
import HomelabCore

/// Writes what the observer folds for a proposal (and its approval) into
/// `world/action/ID.json`, so an executor under test finds the audit trail its gate asks for
/// without an observer running.
public func recordProposal(_ id: String, root: RuntimeRoot, approvedBy: String? = "operator") {
    let time = Timestamp.now().iso8601Milliseconds
    var steps = [#"{"step":"proposed","actor":"supervisor","time":"\#(time)","seq":1}"#]
    if let approvedBy { steps.append(#"{"step":"approved","actor":"\#(approvedBy)","time":"\#(time)","seq":2}"#) }
    let resource = WorldResource(observed: Array(#"{"state":"\#(approvedBy == nil ? "proposed" : "approved")"}"#.utf8), lastSeen: time,
                                 source: "supervisor", seq: steps.count, lifecycle: steps.map { Array($0.utf8) })
    let subject = Subject(kind: "action", name: id)
    let file = root.worldFile(subject)
    makeFolders(String(file[..<file.lastIndex(of: "/")!]))
    try! AtomicFile.write(resource.fileBytes(subject), to: file, durability: .none)
}

/// `mkdir -p`.
public func makeFolders(_ path: String) {
    var partial = ""
    for segment in path.split(separator: "/") {
        partial += "/" + segment
        _ = mkdir(partial, 0o755)
    }
}
