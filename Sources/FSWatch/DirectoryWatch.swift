/// Something that happened under a watched folder.
public struct WatchEvent: Equatable, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// A file is complete: renamed in, closed after writing, found by a scan, or a
        /// non-regular entry (symlink, FIFO) that will never be "closed after writing".
        case ready
        /// A file grew or changed (only with `WatchOptions.appends`).
        case appended
        /// A file was deleted or renamed away.
        case removed
        case directoryAdded
        case directoryRemoved
    }

    public let kind: Kind
    /// The full path: the watched root joined with the entry's relative path.
    public let path: String

    public init(_ kind: Kind, _ path: String) {
        self.kind = kind
        self.path = path
    }

    public var description: String { "\(kind.rawValue) \(path)" }
}

public struct WatchOptions: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// Watch the whole tree, following subfolders as they appear and disappear.
    public static let recursive = WatchOptions(rawValue: 1)
    /// Report writes to files in place (`appended`), for folders whose files are tailed.
    public static let appends = WatchOptions(rawValue: 2)
    /// Report entries whose names start with `.`; by default they are temporaries and skipped.
    public static let hidden = WatchOptions(rawValue: 4)
    /// Only arrivals: the kernel does not even queue removals. For a consumer that deletes
    /// what it takes, whose own deletions would otherwise fill half the event queue.
    public static let arrivalsOnly = WatchOptions(rawValue: 8)
}

/// Watches one folder, or a whole tree, over inotify on a reactor.
///
/// Nothing is missed, at the price of sometimes seeing a file twice: a new subfolder is
/// watched first and listed second, and what the listing finds goes through the same
/// handler; a queue overflow or an unknown watch descriptor triggers a full rescan, which
/// reports every file present. Handlers must therefore be idempotent. Renames are never
/// paired: a rename out of a folder is a removal, a rename in is an arrival.
///
/// The handler receives the events of one wake-up as a batch, so a consumer can commit a
/// burst at once. If the root itself is deleted or moved away, the watch reports
/// `directoryRemoved` for it, waits on the parent folder, and picks the root up again
/// (with a scan) when it reappears.
public final class DirectoryWatch {
    public let root: String
    public let options: WatchOptions
    /// Times the kernel's event queue overflowed.
    public private(set) var overflows = 0
    /// Full rescans after an overflow or an unknown watch descriptor.
    public private(set) var rescans = 0
    /// Folders currently watched.
    public var watchedFolders: Int { folders.count }

    /// Weak: the watch may outlive the loop, whose shutdown already closed its descriptor.
    private weak var reactor: Reactor?
    private let handler: ([WatchEvent]) -> Void
    private var token: Reactor.Token?
    private let fd: Int32
    private var folders: [Int32: String] = [:]
    /// Watches removed by us whose IN_IGNORED has not arrived yet.
    private var retired: Set<Int32> = []
    /// The parent folder's watch while the root is gone.
    private var parentWatch: Int32?
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 8)

    private var folderMask: Inotify.Mask {
        var mask: Inotify.Mask = [.closeWrite, .movedTo, .movedFrom, .create, .delete, .deleteSelf,
                                  .moveSelf, .onlyDirectory, .dontFollow, .excludeUnlinked]
        if options.contains(.appends) { mask.insert(.modify) }
        if options.contains(.arrivalsOnly) { mask.subtract([.delete, .movedFrom]) }
        return mask
    }

    /// Starts watching `root`, which must be a folder. The files already there are reported
    /// on the loop's next turn, once the caller holds the watch.
    public init(reactor: Reactor, root: String, options: WatchOptions = [], handler: @escaping ([WatchEvent]) -> Void) throws(SystemError) {
        var trimmed = root
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.root = trimmed
        self.options = options
        self.reactor = reactor
        self.handler = handler
        let inotify = try Inotify.create()
        fd = inotify.rawValue
        token = try reactor.register(inotify, label: "inotify \(trimmed)", interest: .readable) { [unowned self] _ in
            self.readEvents()
        }
        do {
            folders[try Inotify.addWatch(fd, trimmed, folderMask)] = trimmed
        } catch {
            close()
            throw error
        }
        reactor.runSoon { [weak self] in
            guard let self, self.token != nil else { return }
            var found: [WatchEvent] = []
            self.scanAll(into: &found)
            self.deliver(found)
        }
    }

    deinit {
        close()
        buffer.deallocate()
    }

    /// Whether any of `watches` has kernel events not yet read — how a consumer that batches
    /// its writes tells "idle" from "more is on its way" without waiting for the loop's next
    /// turn. One call for all of them. The corresponding C function is `poll`.
    public static func anyPending(_ watches: [DirectoryWatch]) -> Bool {
        var fds = watches.filter { $0.token != nil }.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        return !fds.isEmpty && poll(&fds, nfds_t(fds.count), 0) > 0
    }

    /// Stops watching; the reactor closes the inotify descriptor.
    public func close() {
        guard let token else { return }
        reactor?.close(token)
        self.token = nil
        folders.removeAll()
    }

    private func deliver(_ events: [WatchEvent]) {
        if !events.isEmpty { handler(events) }
    }

    private func readEvents() {
        var raw: [Inotify.Event] = []
        while let count = try? systemCallUnlessWouldBlock("read(inotify)", root, { [buffer, fd] in
            Glibc.read(fd, buffer.baseAddress, buffer.count)
        }), count > 0 {
            Inotify.parse(UnsafeRawBufferPointer(rebasing: buffer[0..<count]), into: &raw)
            // The kernel fills the buffer with every whole event that fits: room left for the
            // largest one means the queue was empty, and another read would only say EAGAIN.
            if count <= buffer.count - Inotify.largestEvent { break }
        }
        process(raw)
    }

    /// Turns one read's worth of kernel events into the handler's batch.
    func process(_ raw: [Inotify.Event]) {
        var out: [WatchEvent] = []
        var mustRescan = false
        for event in raw {
            if event.mask.contains(.queueOverflow) {
                overflows += 1
                mustRescan = true
            } else if event.watch == parentWatch {
                if event.name == rootName, event.mask.contains(.isDirectory) { rootReturned(into: &out) }
            } else if let folder = folders[event.watch] {
                handle(event, in: folder, into: &out)
            } else if retired.contains(event.watch) {
                if event.mask.contains(.ignored) { retired.remove(event.watch) }
            } else if !event.mask.contains(.ignored) {
                mustRescan = true  // a watch we do not know: our map is wrong, so start over
            }
        }
        if mustRescan {
            rescans += 1
            scanAll(into: &out)
        }
        deliver(out)
    }

    private func handle(_ event: Inotify.Event, in folder: String, into out: inout [WatchEvent]) {
        let mask = event.mask
        if mask.contains(.ignored) || mask.contains(.deleteSelf) || mask.contains(.moveSelf) {
            if folder == root {
                rootGone(into: &out)
            } else {
                // Its parent reports the removal itself; here only the watches go.
                dropTree(folder)
            }
            return
        }
        if !options.contains(.hidden) && event.name.hasPrefix(".") { return }
        let path = folder + "/" + event.name
        if mask.contains(.isDirectory) {
            if mask.contains(.create) || mask.contains(.movedTo) {
                out.append(WatchEvent(.directoryAdded, path))
                if options.contains(.recursive) { addTree(path, into: &out) }
            } else if mask.contains(.delete) || mask.contains(.movedFrom) {
                dropTree(path)
                out.append(WatchEvent(.directoryRemoved, path))
            }
        } else if mask.contains(.closeWrite) || mask.contains(.movedTo) {
            out.append(WatchEvent(.ready, path))
        } else if mask.contains(.create) {
            // A regular file is reported when closed; symlinks and FIFOs never will be.
            if fileKind(path) == .other { out.append(WatchEvent(.ready, path)) }
        } else if mask.contains(.modify) {
            out.append(WatchEvent(.appended, path))
        } else if mask.contains(.delete) {
            out.append(WatchEvent(.removed, path))
        } else if mask.contains(.movedFrom) {
            // Gone, unless the name was swapped (RENAME_EXCHANGE reports the file arriving,
            // then leaving) or refilled since: then what stands there now is complete.
            out.append(WatchEvent(fileKind(path) == nil ? .removed : .ready, path))
        }
    }

    /// Watches `folder`, then lists it: anything created in between is seen at least once.
    private func addTree(_ folder: String, into out: inout [WatchEvent]) {
        guard let watch = try? Inotify.addWatch(fd, folder, folderMask) else { return }  // gone again
        retired.remove(watch)
        folders[watch] = folder
        let descend = folder == root || options.contains(.recursive)
        for entry in listDirectory(folder) {
            if !options.contains(.hidden) && entry.name.hasPrefix(".") { continue }
            let path = folder + "/" + entry.name
            if entry.kind == .directory {
                guard descend else { continue }
                out.append(WatchEvent(.directoryAdded, path))
                if options.contains(.recursive) { addTree(path, into: &out) }
            } else {
                out.append(WatchEvent(.ready, path))
            }
        }
    }

    private func scanAll(into out: inout [WatchEvent]) {
        let previous = folders
        folders.removeAll()
        guard fileKind(root) == .directory else {
            folders = previous
            rootGone(into: &out)
            return
        }
        addTree(root, into: &out)
        for (watch, _) in previous where folders[watch] == nil { retire(watch) }
    }

    private func retire(_ watch: Int32) {
        Inotify.removeWatch(fd, watch)
        retired.insert(watch)
    }

    private func dropTree(_ folder: String) {
        let prefix = folder + "/"
        for (watch, path) in folders where path == folder || path.hasPrefix(prefix) {
            folders[watch] = nil
            retire(watch)
        }
    }

    private var rootName: String { String(root.split(separator: "/").last ?? "") }
    private var rootParent: String {
        guard let slash = root.lastIndex(of: "/") else { return "." }
        return slash == root.startIndex ? "/" : String(root[..<slash])
    }

    private func rootGone(into out: inout [WatchEvent]) {
        guard parentWatch == nil else { return }
        out.append(WatchEvent(.directoryRemoved, root))
        for watch in folders.keys { retire(watch) }
        folders.removeAll()
        // If the parent is gone too there is nothing left to wait on; the watch stays idle.
        parentWatch = try? Inotify.addWatch(fd, rootParent, [.create, .movedTo, .onlyDirectory])
        if fileKind(root) == .directory { rootReturned(into: &out) }  // it came back meanwhile
    }

    private func rootReturned(into out: inout [WatchEvent]) {
        if let parentWatch { retire(parentWatch) }
        parentWatch = nil
        out.append(WatchEvent(.directoryAdded, root))
        addTree(root, into: &out)
    }
}

#if canImport(Glibc)
import Glibc
#endif
