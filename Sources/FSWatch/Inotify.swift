#if canImport(Glibc)
import Glibc
#endif
import CLinuxShim

/// Thin wrappers over the inotify calls, and the event record they produce.
enum Inotify {
    struct Mask: OptionSet {
        let rawValue: UInt32
        static let modify = Mask(rawValue: UInt32(IN_MODIFY))
        static let closeWrite = Mask(rawValue: UInt32(IN_CLOSE_WRITE))
        static let movedFrom = Mask(rawValue: UInt32(IN_MOVED_FROM))
        static let movedTo = Mask(rawValue: UInt32(IN_MOVED_TO))
        static let create = Mask(rawValue: UInt32(IN_CREATE))
        static let delete = Mask(rawValue: UInt32(IN_DELETE))
        static let deleteSelf = Mask(rawValue: UInt32(IN_DELETE_SELF))
        static let moveSelf = Mask(rawValue: UInt32(IN_MOVE_SELF))
        static let queueOverflow = Mask(rawValue: UInt32(IN_Q_OVERFLOW))
        static let ignored = Mask(rawValue: UInt32(IN_IGNORED))
        static let isDirectory = Mask(rawValue: UInt32(IN_ISDIR))
        static let onlyDirectory = Mask(rawValue: UInt32(IN_ONLYDIR))
        static let dontFollow = Mask(rawValue: UInt32(IN_DONT_FOLLOW))
        static let excludeUnlinked = Mask(rawValue: UInt32(IN_EXCL_UNLINK))
    }

    /// `struct inotify_event` with the longest name (NAME_MAX) and its terminating NUL.
    static let largestEvent = 16 + 255 + 1

    struct Event {
        let watch: Int32
        let mask: Mask
        let name: String
    }

    /// The corresponding C function is `inotify_init1`.
    static func create() throws(SystemError) -> FileDescriptor {
        FileDescriptor(owning: try systemCall("inotify_init1") { CLinuxShim_inotify_init() })
    }

    /// Adding a folder that is already watched returns its existing watch descriptor.
    /// The corresponding C function is `inotify_add_watch`.
    static func addWatch(_ fd: Int32, _ path: String, _ mask: Mask) throws(SystemError) -> Int32 {
        try systemCall("inotify_add_watch", path) { inotify_add_watch(fd, path, mask.rawValue) }
    }

    /// EINVAL means the kernel already dropped the watch (its folder is gone); that is fine.
    /// The corresponding C function is `inotify_rm_watch`.
    static func removeWatch(_ fd: Int32, _ watch: Int32) {
        _ = inotify_rm_watch(fd, watch)
    }

    /// Splits a buffer filled by `read` into events.
    static func parse(_ buffer: UnsafeRawBufferPointer, into events: inout [Event]) {
        let header = 16  // int wd; uint32 mask, cookie, len; then len bytes of NUL-padded name
        var offset = 0
        while offset + header <= buffer.count {
            let watch = buffer.loadUnaligned(fromByteOffset: offset, as: Int32.self)
            let mask = buffer.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
            let length = Int(buffer.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
            var name = ""
            if length > 0 {
                let bytes = UnsafeRawBufferPointer(rebasing: buffer[(offset + header)..<(offset + header + length)])
                let end = bytes.firstIndex(of: 0) ?? bytes.count
                name = String(decoding: bytes[..<end], as: UTF8.self)
            }
            events.append(Event(watch: watch, mask: Mask(rawValue: mask), name: name))
            offset += header + length
        }
    }
}
