import HomelabCore

/// `POST /api/propose` with `{"resource": "KIND/NAME"}`: the dashboard's "propose now", the
/// same request as `homelab propose` (`ProposalRequest`: a file the supervisor takes), with
/// the operator token or session and the same-origin check of approve and reject. 202
/// `{"requested": RESOURCE}`; 404 when `drift.json` shows no drift of it an action answers.
extension UIService {
    func propose(_ request: HTTPRequest, _ connection: HTTPServer.Connection) -> HTTPResponse {
        asOperator(request, connection, needs: "propose needs the operator token") { name in propose(request.body, by: name, from: connection) }
    }

    private func propose(_ body: [UInt8], by name: String, from connection: HTTPServer.Connection) -> HTTPResponse {
        guard let text = (try? JSONParser.parse(body))?["resource"]?.string,
              case .success(let resource) = Subject.parse(text) else {
            return error(400, #"the body must be {"resource": "KIND/NAME"}"#)
        }
        do {
            switch try ProposalRequest.submit(ProposalRequest(resource: resource, operatorName: name, remote: connection.remoteAddress), root: root) {
            case .requested:
                logger.info("a proposal for \(resource) requested by \(name) from \(connection.remoteAddress)")
                return .json(JSONWriter.encode(.object(["requested": .string(resource.description)])), status: 202)
            case .nothingToPropose:
                return error(404, "\(resource) has no drift that a catalog action answers")
            }
        } catch {
            logger.error("requesting a proposal for \(resource): \(error)")
            return self.error(500, "could not record the request")
        }
    }

    private func error(_ status: Int, _ message: String) -> HTTPResponse {
        .json(JSONWriter.encode(.object(["error": .string(message)])), status: status)
    }
}
