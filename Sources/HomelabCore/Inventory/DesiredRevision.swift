#if canImport(Glibc)
import Glibc
#endif
import FSWatch

/// Which desired state is in force: the repository's git commit, read from `.git` without
/// running git, or else a digest of the inventory's files.
public enum DesiredRevision {
    public static func read(repo: String, inventory: String) -> String {
        if let commit = gitCommit(repo) { return String(commit.prefix(12)) }
        return "sha256:" + String(digest(inventory).prefix(12))
    }

    static func gitCommit(_ repo: String) -> String? {
        var git = repo + "/.git"
        if fileKind(git) == .regular, let pointer = text(git), pointer.hasPrefix("gitdir: ") {
            let target = String(pointer.dropFirst(8))
            git = target.hasPrefix("/") ? target : repo + "/" + target  // a worktree or submodule
        }
        guard let head = text(git + "/HEAD") else { return nil }
        guard head.hasPrefix("ref: ") else { return isHash(head) ? head : nil }
        let ref = String(head.dropFirst(5))
        if let loose = text(git + "/" + ref), isHash(loose) { return loose }
        for line in (text(git + "/packed-refs") ?? "").split(separator: "\n") where line.hasSuffix(" " + ref) {
            let hash = String(line.prefix(while: { $0 != " " }))
            if isHash(hash) { return hash }
        }
        return nil
    }

    private static func isHash(_ text: String) -> Bool {
        text.utf8.count >= 40 && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    private static func text(_ path: String) -> String? {
        guard let bytes = FileContents.read(path) else { return nil }
        var result = String(decoding: bytes, as: UTF8.self)
        while result.last == "\n" || result.last == " " { result.removeLast() }
        return result
    }

    /// A digest of every file's path and bytes under `folder`, in path order.
    private static func digest(_ folder: String) -> String {
        var material: [UInt8] = []
        func walk(_ path: String, _ relative: String) {
            for entry in listDirectory(path).sorted(by: { $0.name < $1.name }) where !entry.name.hasPrefix(".") {
                if entry.kind == .directory {
                    walk(path + "/" + entry.name, relative + "/" + entry.name)
                } else {
                    material += Array((relative + "/" + entry.name).utf8) + [0]
                    material += (FileContents.read(path + "/" + entry.name) ?? []) + [0]
                }
            }
        }
        walk(folder, "")
        return Digest.sha256Hex(material)
    }
}
