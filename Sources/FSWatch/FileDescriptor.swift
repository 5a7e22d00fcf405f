#if canImport(Glibc)
import Glibc
#endif

/// The single owner of an open file descriptor: it is closed exactly once, by `close()`, by
/// `closeAfter(_:)`, or by whoever takes it over (`release()`, a reactor's `register`).
/// Dropping it open is a bug: debug builds trap; release builds still close it.
public struct FileDescriptor: ~Copyable {
    public let rawValue: Int32

    public init(owning rawValue: Int32) {
        precondition(rawValue >= 0, "not a descriptor: \(rawValue)")
        self.rawValue = rawValue
    }

    /// Closes the descriptor. `close` is never retried: on Linux the descriptor is gone
    /// even when the call reports EINTR.
    public consuming func close() {
        _ = Glibc.close(rawValue)
        discard self
    }

    /// Gives up ownership without closing; the caller now owns the raw descriptor.
    public consuming func release() -> Int32 {
        let raw = rawValue
        discard self
        return raw
    }

    /// Runs `body` with the descriptor, then closes it, whether `body` returned or threw.
    public consuming func closeAfter<R, E: Error>(_ body: (borrowing FileDescriptor) throws(E) -> R) throws(E) -> R {
        let result: R
        do {
            result = try body(self)
        } catch {
            close()
            throw error
        }
        close()
        return result
    }

    deinit {
        // Closed here, it closed at a moment nobody chose (on an error path, usually): debug
        // builds stop at the culprit, as swift-subprocess's IODescriptor and NIO's BaseSocket do.
        assertionFailure("leak of open descriptor \(rawValue)")
        _ = Glibc.close(rawValue)
    }
}

extension FileDescriptor {
    /// Opens `path`; `O_CLOEXEC` is always added.
    /// The corresponding C function is `open`.
    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws(SystemError) -> FileDescriptor {
        let fd = try systemCall("open", path) { Glibc.open(path, flags | O_CLOEXEC, mode) }
        return FileDescriptor(owning: fd)
    }

    /// Writes all of `bytes`, continuing after short writes.
    /// The corresponding C function is `write`.
    public func writeAll(_ bytes: [UInt8]) throws(SystemError) {
        try FileDescriptor.writeAll(bytes, to: rawValue)
    }

    /// `writeAll` for a descriptor owned elsewhere (a reactor, a long-lived log).
    public static func writeAll(_ bytes: [UInt8], to fd: Int32) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let n = try systemCall("write", "fd \(fd)") {
                bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            }
            offset += n
        }
    }

    /// Writes all of `bytes` at `offset`, continuing after short writes; the file position
    /// does not move. The corresponding C function is `pwrite`.
    public func writeAll(_ bytes: [UInt8], at offset: Int) throws(SystemError) {
        var done = 0
        while done < bytes.count {
            done += try systemCall("pwrite", "fd \(rawValue)") {
                bytes.withUnsafeBytes { pwrite(rawValue, $0.baseAddress! + done, $0.count - done, off_t(offset + done)) }
            }
        }
    }

    /// Reads up to `buffer.count` bytes; `nil` when a non-blocking descriptor has none now.
    /// The corresponding C function is `read`.
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int? {
        try systemCallUnlessWouldBlock("read", "fd \(fd)") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// The corresponding C function is `fsync`.
    public func sync() throws(SystemError) {
        try systemCall("fsync", "fd \(rawValue)") { Glibc.fsync(rawValue) }
    }

    /// Flushes data but not metadata the next read does not need, for a descriptor owned
    /// elsewhere (the event log's segment). The corresponding C function is `fdatasync`.
    public static func syncData(_ fd: Int32) throws(SystemError) {
        try systemCall("fdatasync", "fd \(fd)") { Glibc.fdatasync(fd) }
    }
}
