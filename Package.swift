// swift-tools-version:6.0
import PackageDescription

// Layers: CLinuxShim → FSWatch (the reactor) → HomelabCore (domain) → services → homelab.
// A service never imports another service: they meet only in files under the runtime root.
let package = Package(
    name: "homelab-control-plane",
    products: [
        .executable(name: "homelab", targets: ["homelab"]),
    ],
    targets: [
        .target(
            name: "CLinuxShim",
            cSettings: [.define("_GNU_SOURCE")]
        ),
        .target(name: "FSWatch", dependencies: ["CLinuxShim"]),
        .target(name: "HomelabCore", dependencies: ["FSWatch"]),
        .target(name: "Observer", dependencies: ["HomelabCore", "FSWatch"]),
        .target(name: "Supervisor", dependencies: ["HomelabCore", "FSWatch"]),
        .target(name: "Executor", dependencies: ["HomelabCore", "FSWatch"]),
        // The dashboard's files are compiled into the binary: no Bundle, nothing to find at run time.
        .target(
            name: "UI",
            dependencies: ["HomelabCore", "FSWatch"],
            resources: [
                .embedInCode("Resources/dashboard.html"),
                .embedInCode("Resources/dashboard.css"),
                .embedInCode("Resources/dashboard-dom.js"),
                .embedInCode("Resources/dashboard-charts.js"),
                .embedInCode("Resources/dashboard-panels.js"),
                .embedInCode("Resources/dashboard-history.js"),
                .embedInCode("Resources/dashboard.js"),
            ]
        ),
        .target(name: "Demo", dependencies: ["HomelabCore", "FSWatch"]),
        // The notification service (SPEC §12): the log and the heartbeats → messages, through an outbox.
        .target(name: "Notifier", dependencies: ["HomelabCore", "FSWatch"]),
        .target(name: "Collector", dependencies: ["HomelabCore", "FSWatch"]),
        // The node agent (SPEC §11): node facts, the Docker collector, a spool, a transport.
        .target(name: "Agent", dependencies: ["HomelabCore", "FSWatch", "Collector"]),
        .executableTarget(
            name: "homelab",
            dependencies: ["HomelabCore", "FSWatch", "Observer", "Supervisor", "Executor", "UI", "Demo", "Agent", "Notifier"]
        ),
        // What the test targets share: temporary folders, process checks, loopback clients.
        .target(name: "TestSupport", dependencies: ["HomelabCore", "FSWatch"], path: "Tests/TestSupport"),
        .testTarget(name: "FSWatchTests", dependencies: ["FSWatch", "TestSupport"]),
        .testTarget(name: "HomelabCoreTests", dependencies: ["HomelabCore", "FSWatch", "TestSupport"]),
        .testTarget(name: "ObserverTests", dependencies: ["Observer", "HomelabCore", "FSWatch", "TestSupport"]),
        .testTarget(name: "SupervisorTests", dependencies: ["Supervisor", "HomelabCore", "FSWatch", "TestSupport"]),
        .testTarget(name: "ExecutorTests", dependencies: ["Executor", "HomelabCore", "FSWatch", "TestSupport"]),
        .testTarget(name: "UITests", dependencies: ["UI", "Observer", "Executor", "FSWatch", "HomelabCore", "TestSupport"]),
        .testTarget(name: "CollectorTests", dependencies: ["Collector", "HomelabCore"]),
        // The agent against a real observer (--inbox), an HTTP listener of its own, and the real UI and executor.
        .testTarget(name: "AgentTests", dependencies: ["Agent", "Collector", "Observer", "UI", "Executor", "HomelabCore", "FSWatch", "TestSupport"]),
        // The notifier against receivers of its own speaking each target's API, with a real
        // observer and supervisor, and the real binary killed mid-delivery.
        .testTarget(name: "NotifierTests", dependencies: ["Notifier", "Observer", "Supervisor", "HomelabCore", "FSWatch", "TestSupport"]),
        .testTarget(name: "DemoTests", dependencies: ["Demo", "HomelabCore"]),
        // Runs the built `homelab` binary as an operator would.
        .testTarget(name: "HomelabCLITests", dependencies: ["homelab", "TestSupport", "HomelabCore"]),
    ],
    swiftLanguageModes: [.v6]
)
