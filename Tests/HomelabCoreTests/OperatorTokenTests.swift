#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport
import HomelabCore
import FSWatch

/// Only a missing token file is made: one that is there but unreadable would otherwise be
/// replaced, locking out the operator who holds the token it had.
@Suite(.timeLimit(.minutes(1))) struct OperatorTokenTests {
    @Test func aMissingFileIsCreatedAndThenReadBack() throws {
        let folder = TemporaryFolder("token")
        let root = RuntimeRoot(folder.path)
        try root.create()
        let (token, created) = try OperatorToken.load(environment: [:], root: root)
        #expect(created == root.uiToken && token.count == 48)
        #expect(try OperatorToken.load(environment: [:], root: root) == (token, nil))
    }

    @Test func aFolderInItsPlaceIsRefusedAndLeftAlone() throws {
        let folder = TemporaryFolder("token")
        let root = RuntimeRoot(folder.path)
        try root.create()
        mkdir(root.uiToken, 0o700)
        #expect { try OperatorToken.load(environment: [:], root: root) } throws: { "\($0)".contains("the operator token \(root.uiToken) is not a file") }
        var info = stat()
        #expect(stat(root.uiToken, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR)
    }

    @Test func anEmptyFileIsRefusedAndLeftAlone() throws {
        let folder = TemporaryFolder("token")
        let root = RuntimeRoot(folder.path)
        try root.create()
        try AtomicFile.write("\n", to: root.uiToken, mode: 0o600)
        #expect(throws: SystemError.self) { try OperatorToken.load(environment: [:], root: root) }
        #expect(FileContents.read(root.uiToken) == [0x0A])
    }

    @Test(.enabled(if: getuid() != 0, "root reads a mode-000 file")) func anUnreadableFileIsRefusedAndLeftAlone() throws {
        let folder = TemporaryFolder("token")
        let root = RuntimeRoot(folder.path)
        try root.create()
        try AtomicFile.write("kept\n", to: root.uiToken, mode: 0o000)
        #expect { try OperatorToken.load(environment: [:], root: root) } throws: { "\($0)".contains("cannot be read") && "\($0)".contains("EACCES") }
        chmod(root.uiToken, 0o600)
        #expect(FileContents.read(root.uiToken) == Array("kept\n".utf8))
    }
}
