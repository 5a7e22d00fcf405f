#if canImport(Glibc)
import Glibc
#endif
import FSWatch
import HomelabCore

/// Operators asking for a proposal now (`requests/propose/`, `ProposalRequest`): the
/// resource is evaluated at once with back-off, flapping and an earlier rejection set aside,
/// and the proposal names the operator as its proposer. The file is removed once answered.
extension SupervisorService {
    func takeRequests() {
        let paths = waitingRequestFiles
        waitingRequestFiles.removeAll()
        var subjects: Set<Subject> = []
        for path in paths where fileKind(path) == .regular {
            defer { unlink(path) }
            guard let request = ProposalRequest.read(path) else {
                logger.warning("ignored \(path): not a proposal request")
                continue
            }
            guard inventory.resources[request.resource] != nil else {
                logger.warning("\(request.operatorName) asked for a proposal for \(request.resource), which is not desired: nothing to propose")
                continue
            }
            requests[request.resource] = request
            subjects.insert(request.resource)
        }
        guard !subjects.isEmpty else { return }
        evaluate(subjects)
        for subject in subjects {
            if let request = requests.removeValue(forKey: subject) {
                logger.warning("\(request.operatorName) asked for a proposal for \(subject), but none of its drift has a remediation: nothing to propose")
            }
        }
    }
}
