import HomelabCore

/// The page's session beyond signing in: whether its cookie still holds (so a reload does not
/// ask for the token again) and signing out.
extension UIService {
    /// `GET /api/session` → `{"signedIn": bool}`. Open even under `HOMELAB_UI_AUTH=all`: the
    /// page asks before it has anything else, and the answer is only about the asker's cookie.
    func sessionState(_ request: HTTPRequest, _ connection: HTTPServer.Connection) -> HTTPResponse {
        var response = HTTPResponse.json(JSONWriter.encode(.object(["signedIn": .bool(auth.check(request, from: connection) == .granted)])))
        response.headers.append(("Cache-Control", "no-store"))
        return response
    }

    /// `POST /api/session/logout`: the browser forgets its cookie (204). The cookie is a
    /// signed expiry, not a server-side session, so a copy taken elsewhere stays valid until
    /// it expires; deleting `secrets/session-secret` ends every session at once.
    func signOut(_ request: HTTPRequest) -> HTTPResponse {
        if let refusal = crossSite(request) { return .text(403, refusal) }
        return HTTPResponse(status: 204, headers: [("Set-Cookie", "\(OperatorAuth.cookieName)=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict")])
    }
}
