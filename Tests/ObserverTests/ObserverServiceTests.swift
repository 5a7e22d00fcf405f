#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport
import FSWatch
import HomelabCore
@testable import Observer

/// An observer on a `ServiceFixture`.
private final class ObserverFixture: ServiceFixture {
    var observer: ObserverService!
    private var count = 100

    init() throws { try super.init("observer") }

    deinit { observer?.shutdown() }

    func start() throws {
        observer = ObserverService(configuration: configuration, logger: logger("observer"))
        try observer.start(on: reactor)
    }

    /// Drops an event the way producers must: a hidden name, then a rename (into `audit/`,
    /// as the services do, with `folder`).
    func drop(_ type: String, _ subject: String, data: String = "{}", folder: String? = nil) {
        count += 1
        let folder = folder ?? root.inbox
        let text = #"{"type":"\#(type)","source":"node/test","id":"e\#(count)","subject":"\#(subject)","data":\#(data)}"#
        writeFile(folder + "/.e\(count).tmp", text)
        rename(folder + "/.e\(count).tmp", folder + "/e\(count).json")
    }

    func rejections() -> [String] {
        listDirectory(root.rejected).filter { $0.name.hasSuffix(".reason.json") }
            .compactMap { FileContents.object(root.rejected + "/" + $0.name)?["reason"]?.string }
    }

    var seq: Int { WorldIndex.read(root.worldIndex)?.seq ?? 0 }
    var checkpoint: Int { Checkpoint.read(root.observerCheckpoint)?.seq ?? 0 }

    func resource(_ subject: String) -> WorldResource? {
        WorldResource.read(root.worldFile(try! Subject.parse(subject).get())).map(\.1)
    }

}

@Suite(.serialized, .timeLimit(.minutes(1))) struct ObserverServiceTests {
    /// A resource file and a folder never share a name, whatever subjects arrive: these used
    /// to swap a file with a folder (or hit ENOTDIR) and stop the observer for good.
    @Test func subjectsThatLookLikeFilesDoNotCollide() throws {
        let fixture = try ObserverFixture()
        try fixture.start()
        fixture.drop("resource.observed", "container/x", data: #"{"v":1}"#)
        fixture.drop("resource.observed", "container/x.json/y", data: #"{"v":2}"#)
        fixture.drop("resource.observed", "index.json/foo", data: #"{"v":3}"#)
        fixture.drop("resource.observed", "container/z.json/w", data: #"{"v":4}"#)
        fixture.drop("resource.observed", "container/z", data: #"{"v":5}"#)
        #expect(try fixture.turn { fixture.seq == 5 })
        #expect(fixture.observer.failure == nil)
        for (subject, value) in [("container/x", 1), ("container/x.json/y", 2), ("index.json/foo", 3), ("container/z.json/w", 4), ("container/z", 5)] {
            #expect(fixture.resource(subject)?.observed == Array(#"{"v":\#(value)}"#.utf8), "\(subject)")
        }
        #expect(WorldIndex.read(fixture.root.worldIndex)?.resources == 5)

        // A rebuild from the log makes the same files.
        let before = try snapshot(fixture.root.world)
        fixture.observer.shutdown()
        unlink(fixture.root.observerCheckpoint)
        try fixture.start()
        #expect(try snapshot(fixture.root.world) == before)
    }

    /// A producer that writes under the final name, caught mid-write by the start-up scan:
    /// the half file used to be refused, and then completed inside rejected/ — lost.
    @Test func aFileHalfWrittenAtStartUpIsTakenOnceComplete() throws {
        let fixture = try ObserverFixture()
        let text = Array(#"{"type":"resource.observed","source":"node/test","id":"slow","subject":"container/nas/slow","data":{"state":"running"}}"#.utf8)
        let fd = open(fixture.root.inbox + "/slow.json", O_WRONLY | O_CREAT | O_EXCL, 0o644)
        #expect(fd >= 0)
        defer { close(fd) }
        #expect(write(fd, text, 40) == 40)
        try fixture.start()
        try fixture.turn(for: .milliseconds(300))
        #expect(fixture.rejections().isEmpty)
        #expect(write(fd, Array(text[40...]), text.count - 40) == text.count - 40)
        #expect(try fixture.turn { fixture.seq == 1 }, "the completed file was not taken")
        #expect(fixture.resource("container/nas/slow")?.observed == Array(#"{"state":"running"}"#.utf8))
        #expect(fixture.rejections().isEmpty)
    }

    /// Only a file that is still invalid once quiet goes to rejected/.
    @Test func aHalfFileThatStaysHalfIsRefusedOnceQuiet() throws {
        let fixture = try ObserverFixture()
        writeFile(fixture.root.inbox + "/stuck.json", #"{"type":"t","#)
        try fixture.start()
        #expect(try fixture.turn(until: { fixture.rejections().count == 1 }, timeout: .seconds(5)))
        #expect(fixture.rejections().first?.hasPrefix("not JSON") == true)
    }

    /// One resource that cannot be written does not stop the log: the rest goes on, the file
    /// is retried with the next batch, and the checkpoint waits until the world is whole.
    @Test func aResourceThatCannotBeWrittenDoesNotStopTheLog() throws {
        let fixture = try ObserverFixture()
        try fixture.start()
        fixture.drop("resource.observed", "container/nas/a")
        #expect(try fixture.turn { fixture.seq == 1 })
        // Something in the way of container/blocked/x's file: a file where its folder goes.
        let inTheWay = fixture.root.world + "/container/blocked"
        writeFile(inTheWay)
        fixture.drop("resource.observed", "container/blocked/x", data: #"{"v":1}"#)
        fixture.drop("resource.observed", "container/nas/b")
        #expect(try fixture.turn { fixture.seq == 3 })
        #expect(fixture.observer.failure == nil)
        #expect(fixture.resource("container/nas/b") != nil)
        #expect(fixture.checkpoint == 1, "the checkpoint moved past a resource that is not written")
        #expect(ObserverCounters(fixture.observer.statusDetails["counters"]?.object ?? [:]).worldWriteFailures >= 1)

        unlink(inTheWay)
        fixture.drop("resource.observed", "container/nas/c")
        #expect(try fixture.turn { fixture.checkpoint == 4 })
        #expect(fixture.resource("container/blocked/x")?.observed == Array(#"{"v":1}"#.utf8))
    }
}

extension ObserverServiceTests {
    /// Anyone who can write the inbox could forge an approval by anyone; the audit trail
    /// comes only from the services, through audit/.
    @Test func actionEventsAreTakenFromTheServicesOnly() throws {
        let fixture = try ObserverFixture()
        try fixture.start()
        fixture.drop("action.approved", "action/abc", data: #"{"actor":"mallory"}"#)
        fixture.drop("action.proposed", "action/abc", data: #"{"actor":"supervisor"}"#, folder: fixture.root.audit)
        #expect(try fixture.turn { fixture.seq == 1 && fixture.rejections().count == 1 })
        #expect(fixture.rejections() == ["action.approved events come only from the control plane's services, not from the inbox"])
        let history = try #require(fixture.resource("action/abc"))
        #expect(history.lifecycle?.count == 1)
        #expect(listDirectory(fixture.root.audit).allSatisfy { $0.name.hasPrefix(".") })
    }
}

/// Every file under `folder` (hidden spares aside) with its bytes.
private func snapshot(_ folder: String) throws -> [String: Data] {
    var files: [String: Data] = [:]
    let enumerator = FileManager.default.enumerator(atPath: folder)
    while let relative = enumerator?.nextObject() as? String {
        let name = (relative as NSString).lastPathComponent
        var isFolder: ObjCBool = false
        guard !name.hasPrefix("."), FileManager.default.fileExists(atPath: folder + "/" + relative, isDirectory: &isFolder), !isFolder.boolValue else { continue }
        files[relative] = FileManager.default.contents(atPath: folder + "/" + relative)
    }
    return files
}
