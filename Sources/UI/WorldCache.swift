import FSWatch
import HomelabCore

/// `world/` in memory for `/api/world`: each resource's JSON line by `KIND/NAME`, kept in
/// order, loaded once at start and updated from the watch the UI already has on `world/`.
/// A list request then costs the bytes it returns, not a read of every file (0.5 s at 40 000
/// resources), and a page starts after a name by binary search.
final class WorldCache {
    private let root: RuntimeRoot
    /// The keys, sorted, and each one's line at the same index: inserted and removed in place
    /// as files come and go (a page is then a slice, without hashing a name).
    private var order: [String] = []
    private var lines: [[UInt8]] = []

    init(root: RuntimeRoot) {
        self.root = root
        load(root.world)
    }

    var count: Int { order.count }

    private func load(_ folder: String) {
        forEachFile(under: folder, enter: { !$1.hasPrefix(".") }) { path, name in
            if !name.hasPrefix(".") { update(path) }
        }
    }

    /// Follows the watch: a file complete or gone, a folder added (its files may have come
    /// before its watch) or removed.
    func apply(_ events: [WatchEvent]) {
        for event in events {
            switch event.kind {
            case .ready, .appended: update(event.path)
            case .removed: remove(event.path)
            case .directoryAdded: load(event.path)
            case .directoryRemoved:
                let prefix = event.path + "/"
                for key in order where (try? Subject.parse(key).get()).map({ root.worldFile($0).hasPrefix(prefix) }) == true { remove(key: key) }
            }
        }
    }

    private func update(_ path: String) {
        guard let subject = root.worldSubject(path) else { return }
        let key = subject.description
        guard let bytes = FileContents.read(path) else {
            remove(key: key)
            return
        }
        let line = Array(bytes.prefix { $0 != 0x0A })
        let index = position(after: key, inclusive: false)
        if index < order.count && order[index] == key {
            lines[index] = line
        } else {
            order.insert(key, at: index)
            lines.insert(line, at: index)
        }
    }

    private func remove(_ path: String) {
        if let subject = root.worldSubject(path) { remove(key: subject.description) }
    }

    private func remove(key: String) {
        let index = position(after: key, inclusive: false)
        guard index < order.count && order[index] == key else { return }
        order.remove(at: index)
        lines.remove(at: index)
    }

    /// The index of the first key above `key` (or at or above it, when not `inclusive`).
    private func position(after key: String, inclusive: Bool) -> Int {
        var low = 0, high = order.count
        while low < high {
            let mid = (low + high) / 2
            if order[mid] < key || (inclusive && order[mid] == key) { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// Up to `limit` resources after `after` (a `KIND/NAME`; nil: from the start) as one JSON
    /// array, and the key to continue after when more remain.
    func page(after: String?, limit: Int) -> (bytes: [UInt8], next: String?) {
        let start = after.map { position(after: $0, inclusive: true) } ?? 0
        let end = min(order.count, start + limit)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(2 + lines[start..<end].reduce(0) { $0 + $1.count + 1 })
        bytes.append(UInt8(ascii: "["))
        for index in start..<end {
            if index > start { bytes.append(UInt8(ascii: ",")) }
            bytes.append(contentsOf: lines[index])
        }
        bytes.append(UInt8(ascii: "]"))
        return (bytes, end < order.count && end > start ? order[end - 1] : nil)
    }
}
