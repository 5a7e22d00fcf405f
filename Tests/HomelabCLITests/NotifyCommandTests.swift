#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import FSWatch
import HomelabCore
import Synchronization
import TestSupport

/// `homelab check` on notify targets, `homelab notify test`, `homelab propose`.
@Suite(.serialized, .timeLimit(.minutes(1))) struct NotifyCommandTests {
    private func environment(_ folder: TemporaryFolder) -> [String: String] {
        ["HOMELAB_ROOT": folder.path + "/root", "HOMELAB_REPO": folder.path + "/repo"]
    }

    @Test func checkRefusesATargetItCouldNotUseWithFileAndReason() throws {
        let folder = TemporaryFolder("notify-check")
        try FileManager.default.createDirectory(atPath: folder.path + "/repo/inventory/notify", withIntermediateDirectories: true)
        writeFile(folder.path + "/repo/inventory/notify/phone.json", #"{"type":"ntfy","url":"https://ntfy.sh","topic":"x"}"#)
        writeFile(folder.path + "/repo/inventory/notify/gotify.json", #"{"type":"gotify","url":"http://g","tokenFile":"../ui-token"}"#)
        writeFile(folder.path + "/repo/inventory/notify/hook.json", #"{"type":"webhook","url":"http://hooks.lan/x","secretFile":"notify/hook.secret"}"#)
        let (status, output, _) = try HomelabProcess.run(["check"], environment: environment(folder))
        #expect(status == 1)
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines.count == 2, "\(output)")
        #expect(lines.contains { $0.hasSuffix("notify/phone.json: \"url\": only http:// is spoken; put the server behind Tailscale or reach a TLS proxy through a local http:// one") })
        #expect(lines.contains { $0.contains("notify/gotify.json: \"tokenFile\" must be a path relative to secrets/") })
    }

    @Test func notifyTestSendsOneMessageAndSaysWhatTheTargetAnswered() throws {
        let folder = TemporaryFolder("notify-test")
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) } }
        listen(listener, 4)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        let port = UInt16(bigEndian: address.sin_port)
        try FileManager.default.createDirectory(atPath: folder.path + "/repo/inventory/notify", withIntermediateDirectories: true)
        writeFile(folder.path + "/repo/inventory/notify/phone.json", #"{"type":"ntfy","url":"http://127.0.0.1:\#(port)","topic":"lab"}"#)
        let received = Mutex("")
        let server = Thread {
            let client = accept(listener, nil, nil)
            var bytes = [UInt8](repeating: 0, count: 65536)
            var text = ""
            while !text.contains("\"sequence_id\"") {
                let n = read(client, &bytes, bytes.count)
                if n <= 0 { break }
                text += String(decoding: bytes[0..<n], as: UTF8.self)
            }
            received.withLock { $0 = text }
            let reply = Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}".utf8)
            _ = write(client, reply, reply.count)
            close(client)
        }
        server.start()
        defer { close(listener) }
        let (status, output, errors) = try HomelabProcess.run(["notify", "test", "phone"], environment: environment(folder))
        #expect(status == 0, "\(errors)")
        #expect(output.contains("phone: ntfy http://127.0.0.1:\(port) answered 200"))
        let request = received.withLock { $0 }
        #expect(request.hasPrefix("POST / HTTP/1.1") && request.contains(#""topic":"lab""#) && request.contains("Test message"))
        let (unknown, _, said) = try HomelabProcess.run(["notify", "test", "nope"], environment: environment(folder))
        #expect(unknown == 1 && said.contains("no target nope"))
    }

    @Test func proposeWritesARequestOnlyForARemediableDrift() throws {
        let folder = TemporaryFolder("propose")
        let root = RuntimeRoot(folder.path + "/root")
        try root.create()
        let (none, _, said) = try HomelabProcess.run(["propose", "container/nas/jellyfin", "--as", "oskar"], environment: environment(folder))
        #expect(none == 1 && said.contains("has no drift that a catalog action answers"))
        try AtomicFile.write(#"{"drift":[{"resource":"container/nas/jellyfin","kind":"mismatch","fields":[],"wait":{"reason":"backoff","detail":"back-off after attempt 1"}}]}"#, to: root.driftReport)
        let (status, output, errors) = try HomelabProcess.run(["propose", "container/nas/jellyfin", "--as", "oskar"], environment: environment(folder))
        #expect(status == 0, "\(errors)")
        #expect(output.contains("proposal requested by oskar"))
        let files = listDirectory(root.proposeRequests)
        #expect(files.count == 1 && ProposalRequest.read(root.proposeRequests + "/" + files[0].name)?.operatorName == "oskar")
        #expect(try HomelabProcess.run(["propose", "not a subject"], environment: environment(folder)).0 == 2)
    }
}
