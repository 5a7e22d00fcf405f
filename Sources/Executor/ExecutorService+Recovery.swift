#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

extension ExecutorService {
    /// Actions left in running/ by an executor that died: unlocked ones were interrupted. They
    /// go to failed/ and are never re-run; what is left of their process group is killed.
    /// One handed to a node's agent is not interrupted: it is taken over and waited for.
    func recoverInterrupted() {
        for id in root.actionIDs(in: .running) {
            guard let claim = ActionClaim.takeOver(id, root: root) else { continue }  // another executor runs it
            if let marker = FileContents.object(root.executorRunMarker(id)), marker["bootId"]?.string == BootID.current,
               let group = marker["pgid"]?.int, group > 1 {
                ChildProcess.signalGroup(pid_t(group), SIGKILL)
            }
            removeWork(id)
            let file = ActionFile.read(root.action(id, in: .running)) ?? ActionFile(id: id)
            if let result = file.result {
                // It ended and its result was written; the executor died before the last rename.
                let ok = result.exitCode == 0 && result.error == nil
                record(file, claim: claim, result: result, ok: ok)
                if let node = root.handoffNode(id) { removeHandoff(id, node: node) }
                logger.warning("\(id) had finished when its executor stopped; moved to \(ok ? "done" : "failed")/")
                continue
            }
            if let node = root.handoffNode(id) {
                logger.info("\(id) is with the agent of node \(node): taken over, waiting for its result")
                track(Handoff(file: file, claim: claim, node: node))
                continue
            }
            record(file, claim: claim, result: .init(error: "interrupted: the executor stopped while it ran; not re-run"), ok: false)
            logger.warning("\(id) was interrupted by an executor that stopped; moved to failed/")
        }
    }
}
