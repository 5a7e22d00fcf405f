import Testing
@testable import HomelabCore

/// `Subject.parse` reads the bytes in one pass and splits only to explain a refusal: both
/// paths must agree with the grammar of SPEC §4.2.
@Suite struct SubjectParseTests {
    @Test(.timeLimit(.minutes(1)))
    func theOnePassParseKeepsTheGrammar() throws {
        let accepted: [(String, String, String)] = [
            ("container/nas/jellyfin", "container", "nas/jellyfin"), ("node/nas", "node", "nas"),
            ("a/b.c_d-e", "a", "b.c_d-e"), ("k/1/2/3/4/5/6/7/8", "k", "1/2/3/4/5/6/7/8"),
            ("K9/" + String(repeating: "x", count: 128), "K9", String(repeating: "x", count: 128)),
        ]
        for (text, kind, name) in accepted {
            #expect(try Subject.parse(text).get() == Subject(kind: kind, name: name), "\(text)")
        }
        let refused = [
            "", "container", "container/", "/nas", "container//x", "container/.x", "container/x/", "-k/x",
            "k/1/2/3/4/5/6/7/8/9", "k/" + String(repeating: "x", count: 129), "k/é", "k/a b", "k/a\u{0}",
        ]
        for text in refused {
            guard case .failure(let error) = Subject.parse(text) else {
                Issue.record("\"\(text)\" was accepted")
                continue
            }
            #expect(!error.description.isEmpty)
        }
        #expect((try? Subject.parse("node/a/b", maxNameSegments: 1).get()) == nil)
        #expect((try? Subject.parse("container/nas", minNameSegments: 2).get()) == nil)
        #expect(try Subject.parse("container/nas/x", minNameSegments: 2).get() == Subject(kind: "container", name: "nas/x"))
    }
}
