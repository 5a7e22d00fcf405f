@testable import Demo
import HomelabCore
import Testing

@Suite(.timeLimit(.minutes(2))) struct SimulatedHomelabTests {
    /// A drift must change what is observed, or no proposal follows it.
    @Test(arguments: [
        ("state", "running", "exited"), ("state", "exited", "running"),
        ("image", "jellyfin/jellyfin:10.9.7", "jellyfin/jellyfin:latest"),
        ("image", "pihole/pihole:latest", "pihole/pihole:previous"),
        ("image", "registry:5000/app:1.2", "registry:5000/app:latest"),
        ("port", "8096", "8096-drifted"),
    ])
    func driftedValuesDiffer(key: String, value: String, expected: String) {
        #expect(SimulatedHomelab.driftedValue(of: key, .string(value)) == .string(expected))
    }

    @Test func dashboardURLNamesLoopbackForWildcards() {
        #expect(Demo.dashboardURL("0.0.0.0:8080") == "http://127.0.0.1:8080/")
        #expect(Demo.dashboardURL("127.0.0.1:18080") == "http://127.0.0.1:18080/")
        #expect(Demo.dashboardURL("192.168.1.5:80") == "http://192.168.1.5:80/")
    }
}
