import Testing
import HomelabCore
@testable import Observer


private func event(_ type: String, _ subject: String?, _ data: String? = nil, time: String = "2026-11-26T15:00:00Z", source: String = "node/nas", seq: Int) -> LoggedEvent {
    LoggedEvent(seq: seq, id: "e\(seq)", source: source, type: type, subject: subject, time: time,
                receivedAt: "2026-11-26T15:00:01.000Z", data: data.map { try! JSONParser.parse(Array($0.utf8)) })
}

private func file(_ world: World, _ kind: String, _ name: String) -> String? {
    let key = Subject(kind: kind, name: name)
    return world.resource(key).map { String(decoding: $0.fileBytes(key), as: UTF8.self) }
}

@Suite(.timeLimit(.minutes(2))) struct WorldFoldTests {
    @Test func observedUpsertsAndReplacesProperties() {
        let world = World()
        world.apply(event("resource.observed", "container/nas/jellyfin", #"{"state":"exited","image":"jf:1"}"#, seq: 1))
        world.apply(event("resource.observed", "container/nas/jellyfin", #"{"state":"running"}"#, time: "2026-11-26T15:05:00Z", seq: 2))
        #expect(file(world, "container", "nas/jellyfin") ==
            #"{"kind":"container","name":"nas/jellyfin","observed":{"state":"running"},"lastSeen":"2026-11-26T15:05:00Z","source":"node/nas","seq":2}"# + "\n")
        #expect(world.takeDirty() == [Subject(kind: "container", name: "nas/jellyfin")])
        #expect(String(decoding: world.index.bytes, as: UTF8.self) == #"{"seq":2,"generatedAt":"2026-11-26T15:00:01.000Z","byKind":{"container":1}}"# + "\n")
    }

    @Test func removedDeletes() {
        let world = World()
        world.apply(event("resource.observed", "container/nas/x", "{}", seq: 1))
        world.apply(event("resource.removed", "container/nas/x", seq: 2))
        world.apply(event("resource.removed", "container/nas/never", seq: 3))
        #expect(world.resourceCount == 0)
        #expect(world.takeDirty() == [Subject(kind: "container", name: "nas/x")])
    }

    @Test func snapshotUpsertsListedAndDeletesTheRestOfItsPrefixOnly() {
        let world = World()
        world.apply(event("resource.observed", "container/nas/old", "{}", seq: 1))
        world.apply(event("resource.observed", "container/nas/keep", #"{"v":1}"#, seq: 2))
        world.apply(event("resource.observed", "container/pi/other", "{}", seq: 3))
        world.apply(event("resource.observed", "container/nasx/lookalike", "{}", seq: 4))
        world.apply(event("resource.snapshot", "container/nas", #"{"resources":{"nas/keep":{"v":2},"nas/new":{"v":3}}}"#, seq: 5))
        #expect(Set(world.kinds["container"]!.keys) == ["nas/keep", "nas/new", "pi/other", "nasx/lookalike"])
        #expect(file(world, "container", "nas/keep")?.contains(#""observed":{"v":2}"#) == true)
    }

    @Test func heartbeatChangesOnlyLastSeen() {
        let world = World()
        world.apply(event("resource.observed", "node/nas", #"{"os":"debian"}"#, seq: 1))
        world.apply(event("node.heartbeat", "node/nas", time: "2026-11-26T16:00:00Z", source: "agent", seq: 2))
        world.apply(event("node.heartbeat", "node/pi", time: "2026-11-26T16:00:00Z", source: "agent", seq: 3))
        #expect(file(world, "node", "nas") == #"{"kind":"node","name":"nas","observed":{"os":"debian"},"lastSeen":"2026-11-26T16:00:00Z","source":"node/nas","seq":1}"# + "\n")
        #expect(file(world, "node", "pi")?.contains(#""observed":{},"lastSeen":"2026-11-26T16:00:00Z","source":"agent","seq":3"#) == true)
    }

    @Test func actionsKeepTheirLifecycleAsAnAuditTrail() {
        let world = World()
        world.apply(event("action.proposed", "action/a1", #"{"action":"docker-start"}"#, source: "supervisor", seq: 1))
        world.apply(event("action.approved", "action/a1", #"{"actor":"oskar","remote":"10.0.0.2"}"#, source: "ui", seq: 2))
        let text = file(world, "action", "a1")!
        #expect(text.contains(#""observed":{"actor":"oskar","remote":"10.0.0.2","state":"approved"}"#))
        #expect(text.contains(#""lifecycle":[{"step":"proposed","actor":"supervisor","time":"2026-11-26T15:00:00Z","seq":1},{"step":"approved","actor":"oskar","time":"2026-11-26T15:00:00Z","seq":2}]"#))
    }

    @Test func unknownTypesChangeNothingButAreCounted() {
        let world = World()
        world.apply(event("custom.metric", "node/nas", #"{"load":1}"#, seq: 1))
        #expect(world.resourceCount == 0 && world.ignoredEvents == 1 && world.seq == 1)
    }

    @Test func replayingASuffixOntoAWorldThatHasItChangesNothing() {
        let events = [
            event("resource.observed", "container/nas/a", #"{"state":"running"}"#, seq: 1),
            event("node.heartbeat", "node/nas", seq: 2),
            event("action.proposed", "action/x", "{}", seq: 3),
            event("resource.observed", "container/nas/b", "{}", seq: 4),
            event("resource.removed", "container/nas/a", seq: 5),
            event("action.approved", "action/x", "{}", seq: 6),
            event("resource.snapshot", "container/nas", #"{"resources":{"nas/c":{}}}"#, seq: 7),
            event("node.heartbeat", "node/nas", time: "2026-11-26T17:00:00Z", seq: 8),
        ]
        let once = World(), twice = World()
        for e in events { once.apply(e) }
        for e in events { twice.apply(e) }
        for e in events[2...] { twice.apply(e) }  // a crash after the world writes, before the checkpoint
        func files(_ world: World) -> [String: [UInt8]] {
            var all: [String: [UInt8]] = [:]
            for (kind, resources) in world.kinds {
                for (name, resource) in resources { all[kind + "/" + name] = resource.fileBytes(Subject(kind: kind, name: name)) }
            }
            return all
        }
        #expect(files(once) == files(twice))
        #expect(once.index.bytes == twice.index.bytes)
    }

    @Test func resourceFilesParseBackToTheSameBytes() {
        let world = World()
        world.apply(event("action.proposed", "action/x", #"{"n":1.50}"#, seq: 1))
        let key = Subject(kind: "action", name: "x")
        let bytes = world.resource(key)!.fileBytes(key)
        let (parsedKey, parsed) = WorldResource.parseFile(bytes)!
        #expect(parsedKey == key && parsed.fileBytes(parsedKey) == bytes)
    }
}
