#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport
@testable import FSWatch

// One serialized suite for everything that touches inotify, signals or the fd table, so the
// overflow test's lowered queue limit and the descriptor counts see no other test.
@Suite(.serialized, .timeLimit(.minutes(2))) struct DirectoryWatchTests {
    @Test func fileRenamedInIsReportedOnce() throws {
        let stage = TemporaryFolder(), folder = TemporaryFolder()
        let reactor = try Reactor()
        let recorder = Recorder()
        let watch = try DirectoryWatch(reactor: reactor, root: folder.path, handler: recorder.record)
        try runLoop(reactor, for: .milliseconds(20))
        let temporary = stage.file("event.tmp")
        #expect(rename(temporary, folder.path + "/event.json") == 0)
        let target = folder.path + "/event.json"
        #expect(try runLoop(reactor) { recorder.count(.ready, target) == 1 })
        try runLoop(reactor, for: .milliseconds(50))
        #expect(recorder.events == [WatchEvent(.ready, target)])
        watch.close()
    }

    @Test func fileWrittenUnderItsFinalNameIsReportedOnlyAfterClose() throws {
        let folder = TemporaryFolder()
        let reactor = try Reactor()
        let recorder = Recorder()
        let watch = try DirectoryWatch(reactor: reactor, root: folder.path, handler: recorder.record)
        try runLoop(reactor, for: .milliseconds(20))
        let path = folder.path + "/slow.json"
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        #expect(fd >= 0)
        _ = write(fd, "{\"half\":", 8)
        try runLoop(reactor, for: .milliseconds(100))
        _ = write(fd, "true}", 5)
        try runLoop(reactor, for: .milliseconds(100))
        #expect(recorder.events.isEmpty, "reported before close: \(recorder.events)")
        close(fd)
        #expect(try runLoop(reactor) { recorder.count(.ready, path) == 1 })
        try runLoop(reactor, for: .milliseconds(50))
        #expect(recorder.events == [WatchEvent(.ready, path)])
        _ = watch
    }

    @Test func deletionAndRenameAwayAreRemovals() throws {
        let folder = TemporaryFolder(), elsewhere = TemporaryFolder()
        let deleted = folder.file("deleted.json"), moved = folder.file("moved.json")
        let reactor = try Reactor()
        let recorder = Recorder()
        let watch = try DirectoryWatch(reactor: reactor, root: folder.path, handler: recorder.record)
        #expect(try runLoop(reactor) { recorder.paths(.ready) == [deleted, moved] }, "files present at start are reported")
        unlink(deleted)
        rename(moved, elsewhere.path + "/moved.json")
        #expect(try runLoop(reactor) { recorder.paths(.removed) == [deleted, moved] })
        _ = watch
    }

    @Test func aSwappedFileIsReadyNotRemoved() throws {
        let folder = TemporaryFolder()
        let target = folder.file("index.json", "old")
        let spare = folder.file(".index.json.spare", "new")
        let reactor = try Reactor()
        let recorder = Recorder()
        let watch = try DirectoryWatch(reactor: reactor, root: folder.path, handler: recorder.record)
        try runLoop(reactor, for: .milliseconds(20))
        recorder.events.removeAll()
        try FileSystem.exchange(spare, target)
        #expect(try runLoop(reactor) { recorder.events.count >= 2 })
        try runLoop(reactor, for: .milliseconds(20))
        #expect(recorder.events == [WatchEvent(.ready, target), WatchEvent(.ready, target)])
        _ = watch
    }

    @Test func arrivalsOnlyLeavesRemovalsOutOfTheQueue() throws {
        let folder = TemporaryFolder()
        let reactor = try Reactor()
        let recorder = Recorder()
        let watch = try DirectoryWatch(reactor: reactor, root: folder.path, options: .arrivalsOnly, handler: recorder.record)
        try runLoop(reactor, for: .milliseconds(20))
        let file = folder.file("taken.json")
        #expect(try runLoop(reactor) { recorder.count(.ready, file) == 1 })
        unlink(file)
        try runLoop(reactor, for: .milliseconds(50))
        #expect(recorder.events == [WatchEvent(.ready, file)])
        _ = watch
    }

    @Test func nonRecursiveWatchReportsSubfoldersButNotTheirFiles() throws {
        let folder = TemporaryFolder()
        let reactor = try Reactor()
        let recorder = Recorder()
        let watch = try DirectoryWatch(reactor: reactor, root: folder.path, handler: recorder.record)
        try runLoop(reactor, for: .milliseconds(20))
        makeFolder(folder.path + "/sub")
        writeFile(folder.path + "/sub/inner.json")
        writeFile(folder.path + "/top.json")
        #expect(try runLoop(reactor) { recorder.count(.ready, folder.path + "/top.json") == 1 })
        #expect(recorder.count(.directoryAdded, folder.path + "/sub") == 1)
        #expect(recorder.paths(.ready) == [folder.path + "/top.json"])
        #expect(watch.watchedFolders == 1)
    }

    @Test func hiddenTemporariesAreSkippedUnlessAsked() throws {
        let folder = TemporaryFolder()
        let reactor = try Reactor()
        let plain = Recorder(), all = Recorder()
        let watchPlain = try DirectoryWatch(reactor: reactor, root: folder.path, handler: plain.record)
        let watchAll = try DirectoryWatch(reactor: reactor, root: folder.path, options: .hidden, handler: all.record)
        try runLoop(reactor, for: .milliseconds(20))
        let hidden = folder.file(".draft.tmp")
        let visible = folder.path + "/final.json"
        rename(hidden, visible)
        #expect(try runLoop(reactor) { plain.count(.ready, visible) == 1 && all.count(.ready, visible) == 1 })
        #expect(plain.events == [WatchEvent(.ready, visible)])
        #expect(all.count(.ready, hidden) == 1 && all.count(.removed, hidden) == 1)
        _ = (watchPlain, watchAll)
    }

    @Test func symlinksAndFIFOsAreReportedAlthoughNeverClosedAfterWriting() throws {
        let folder = TemporaryFolder()
        let reactor = try Reactor()
        let recorder = Recorder()
        let watch = try DirectoryWatch(reactor: reactor, root: folder.path, handler: recorder.record)
        try runLoop(reactor, for: .milliseconds(20))
        symlink("/etc/passwd", folder.path + "/link.json")
        mkfifo(folder.path + "/pipe.json", 0o644)
        #expect(try runLoop(reactor) { recorder.paths(.ready) == [folder.path + "/link.json", folder.path + "/pipe.json"] })
        _ = watch
    }

    @Test func appendsAreReportedWhenTailing() throws {
        let folder = TemporaryFolder()
        let log = folder.file("segment.jsonl", "")
        let reactor = try Reactor()
        let recorder = Recorder()
        let watch = try DirectoryWatch(reactor: reactor, root: folder.path, options: .appends, handler: recorder.record)
        try runLoop(reactor, for: .milliseconds(20))
        let fd = open(log, O_WRONLY | O_APPEND | O_CLOEXEC)
        _ = write(fd, "{}\n", 3)
        #expect(try runLoop(reactor) { recorder.count(.appended, log) >= 1 })
        close(fd)
        _ = watch
    }

    @Test func subfoldersCreatedWithFilesRightAwayMissNothing() throws {
        let folder = TemporaryFolder()
        let reactor = try Reactor()
        let recorder = Recorder()
        let watch = try DirectoryWatch(reactor: reactor, root: folder.path, options: .recursive, handler: recorder.record)
        try runLoop(reactor, for: .milliseconds(20))
        let rounds = 1_000
        var expected: Set<String> = []
        for i in 0..<rounds {
            let sub = folder.path + "/day-\(i)"
            expected.formUnion([sub + "/a.json", sub + "/b.json", sub + "/nested/c.json"])
        }
        // The producer races the loop: each folder gets its files while the loop is still
        // (or not yet) adding the folder's watch.
        let producer = Thread {
            for i in 0..<rounds {
                let sub = folder.path + "/day-\(i)"
                makeFolder(sub)
                writeFile(sub + "/a.json")
                makeFolder(sub + "/nested")
                writeFile(sub + "/nested/c.json")
                writeFile(sub + "/b.json")
            }
        }
        producer.start()
        let complete = try runLoop(reactor, timeout: .seconds(60)) { recorder.paths(.ready).isSuperset(of: expected) }
        let missing = expected.subtracting(recorder.paths(.ready))
        #expect(complete, "\(missing.count) files never reported, e.g. \(missing.sorted().prefix(3))")
        #expect(watch.watchedFolders == 1 + 2 * rounds)
    }

    @Test func subfolderDeletedAndRecreatedIsWatchedAgain() throws {
        let folder = TemporaryFolder()
        let reactor = try Reactor()
        let recorder = Recorder()
        let watch = try DirectoryWatch(reactor: reactor, root: folder.path, options: .recursive, handler: recorder.record)
        let sub = folder.path + "/2026-11-26"
        makeFolder(sub)
        writeFile(sub + "/first.json")
        // Seen by the start-up scan and by its own event: twice is allowed, never zero.
        #expect(try runLoop(reactor) { recorder.count(.ready, sub + "/first.json") >= 1 })
        #expect(watch.watchedFolders == 2)
        try FileManager.default.removeItem(atPath: sub)
        #expect(try runLoop(reactor) { recorder.count(.directoryRemoved, sub) == 1 })
        try runLoop(reactor, for: .milliseconds(30))
        #expect(watch.watchedFolders == 1)
        makeFolder(sub)
        writeFile(sub + "/second.json")
        #expect(try runLoop(reactor) { recorder.count(.ready, sub + "/second.json") >= 1 })
        #expect(watch.watchedFolders == 2)
        #expect(watch.rescans == 0, "deleting a folder must not look like lost events")
    }

    @Test func rootDeletedAndRecreatedIsPickedUpAgain() throws {
        let parent = TemporaryFolder()
        let root = parent.path + "/inbox"
        makeFolder(root)
        let reactor = try Reactor()
        let recorder = Recorder()
        let watch = try DirectoryWatch(reactor: reactor, root: root, options: .recursive, handler: recorder.record)
        try runLoop(reactor, for: .milliseconds(20))
        rmdir(root)
        #expect(try runLoop(reactor) { recorder.count(.directoryRemoved, root) == 1 })
        makeFolder(root)
        writeFile(root + "/back.json")
        #expect(try runLoop(reactor) { recorder.count(.ready, root + "/back.json") >= 1 })
        #expect(recorder.count(.directoryAdded, root) == 1)
        writeFile(root + "/later.json")
        #expect(try runLoop(reactor) { recorder.count(.ready, root + "/later.json") == 1 })
        _ = watch
    }

    @Test func queueOverflowRescansAndEveryFileIsStillHandled() throws {
        let limitFile = "/proc/sys/fs/inotify/max_queued_events"
        let original = try String(contentsOfFile: limitFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let stage = TemporaryFolder(), folder = TemporaryFolder()
        let count = 20_000
        for i in 0..<count { writeFile(stage.path + "/\(i).tmp", "{\"n\":\(i)}") }
        let reactor = try Reactor()
        let recorder = Recorder()
        // The kernel reads the limit when the inotify instance is created.
        try "1024".write(toFile: limitFile, atomically: false, encoding: .utf8)
        let watch: DirectoryWatch
        do {
            defer { try? original.write(toFile: limitFile, atomically: false, encoding: .utf8) }
            watch = try DirectoryWatch(reactor: reactor, root: folder.path, handler: recorder.record)
        }
        #expect(try String(contentsOfFile: limitFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) == original)
        try runLoop(reactor, for: .milliseconds(20))
        var expected: Set<String> = []
        for i in 0..<count {
            let target = folder.path + "/\(i).json"
            rename(stage.path + "/\(i).tmp", target)
            expected.insert(target)
        }
        #expect(try runLoop(reactor, timeout: .seconds(60)) { recorder.paths(.ready).isSuperset(of: expected) })
        #expect(watch.overflows >= 1, "the burst was meant to overflow a 1024-event queue")
        #expect(watch.rescans >= 1)
    }

    @Test func anUnknownWatchDescriptorTriggersAFullRescan() throws {
        let folder = TemporaryFolder()
        let present = folder.file("present.json")
        let reactor = try Reactor()
        let recorder = Recorder()
        let watch = try DirectoryWatch(reactor: reactor, root: folder.path, handler: recorder.record)
        try runLoop(reactor, for: .milliseconds(20))
        recorder.events.removeAll()
        watch.process([Inotify.Event(watch: 9_999, mask: .closeWrite, name: "lost.json")])
        #expect(watch.rescans == 1)
        #expect(recorder.events == [WatchEvent(.ready, present)], "the rescan reports what is there")
    }

    @Test func watchingAMissingFolderFailsWithOneClearLine() throws {
        let reactor = try Reactor()
        let before = reactor.descriptorCount
        #expect {
            _ = try DirectoryWatch(reactor: reactor, root: "/nonexistent/inbox") { _ in }
        } throws: { error in
            let text = "\(error)"
            return text.contains("inotify_add_watch /nonexistent/inbox") && text.contains("ENOENT") && !text.contains("\n")
        }
        #expect(reactor.descriptorCount == before, "the failed watch's inotify descriptor was closed")
    }
}
