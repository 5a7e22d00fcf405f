#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport
import HomelabCore

@Suite(.timeLimit(.minutes(1))) struct RuntimeRootTests {
    let root = RuntimeRoot("/r")

    @Test func createsTheWholeLayoutWithItsModesAndIsIdempotent() throws {
        let folder = TemporaryFolder("core")
        let parent = folder.path
        let root = RuntimeRoot(parent + "/homelab/")
        #expect(root.path == parent + "/homelab")
        try root.create()
        try root.create()
        for folder in ["inbox", "rejected", "events", "world", "state", "logs", "logs/actions", "secrets",
                       "actions/pending", "actions/approved", "actions/running", "actions/done",
                       "actions/failed", "actions/rejected", "actions/superseded"] {
            var isFolder: ObjCBool = false
            #expect(FileManager.default.fileExists(atPath: root.path + "/" + folder, isDirectory: &isFolder) && isFolder.boolValue, "\(folder) missing")
        }
        var info = stat()
        stat(root.secrets, &info)
        #expect(info.st_mode & 0o7777 == 0o700)
        #expect(root.observerCheckpoint == root.path + "/state/observer_checkpoint.json")
        #expect(root.actions(.approved) == root.path + "/actions/approved")
        #expect(root.eventDay("2026-11-26") == root.path + "/events/2026-11-26")
    }

    @Test(arguments: [
        ("container/nas/jellyfin", "/r/world/container/nas/jellyfin.json"),
        ("container/x", "/r/world/container/x.json"),
        ("container/x.json/y", "/r/world/container/x.json~/y.json"),
        ("index.json/foo", "/r/world/index.json~/foo.json"),
        ("container/a.json/b.json/c.json", "/r/world/container/a.json~/b.json~/c.json.json"),
    ])
    func worldFilesAreNamedOneWayAndReadBack(subject: String, file: String) throws {
        let parsed = try Subject.parse(subject).get()
        #expect(root.worldFile(parsed) == file)
        #expect(root.worldSubject(file) == parsed)
    }

    @Test func aFileAndAFolderNeverShareAName() throws {
        let subjects = ["container/x", "container/x.json/y", "index.json/foo", "container/x.json", "container/x.json.json/z"]
        var files: Set<String> = [root.worldIndex], folders: Set<String> = []
        for subject in subjects {
            let file = root.worldFile(try Subject.parse(subject).get())
            #expect(files.insert(file).inserted, "two subjects share \(file)")
            var folder = file
            while let slash = folder.lastIndex(of: "/"), folder != root.world {
                folder = String(folder[..<slash])
                folders.insert(folder)
            }
        }
        #expect(files.isDisjoint(with: folders), "\(files.intersection(folders))")
    }

    @Test func pathsThatNoSubjectMakesAreNotResources() {
        for path in ["/r/world/index.json", "/r/world/container/.x.json.spare", "/r/world/container/x.json/y.json",
                     "/r/world/container~/x.json", "/r/world/x.json", "/r/other/container/x.json"] {
            #expect(root.worldSubject(path) == nil, "\(path)")
        }
    }

    @Test func actionPathsComeFromOnePlace() {
        #expect(root.action("abc", in: .pending) == "/r/actions/pending/abc.json")
        #expect(root.actionLocation("/r/actions/done/abc.json")! == ("abc", .done))
        #expect(root.actionLocation("/r/actions/done/.abc.json.tmp") == nil)
        #expect(root.actionLog("abc") == "/r/logs/actions/abc.log")
        #expect(root.executorRunMarker("abc") == "/r/state/executor/abc.run")
    }
}
