#if canImport(Glibc)
import Glibc
#endif

extension FileDescriptor {
    /// Up to `count` bytes at `offset` (fewer only at the end of the file); the file position
    /// does not move. The corresponding C function is `pread`.
    public func read(at offset: Int, count: Int) throws(SystemError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = try systemCall("pread", "fd \(rawValue)") {
                bytes.withUnsafeMutableBytes { pread(rawValue, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            }
            if n == 0 { break }
            done += n
        }
        bytes.removeLast(count - done)
        return bytes
    }

    /// The file's size. The corresponding C function is `fstat`.
    public func size() throws(SystemError) -> Int {
        var info = stat()
        try systemCall("fstat", "fd \(rawValue)") { fstat(rawValue, &info) }
        return Int(info.st_size)
    }

    /// Cuts off what follows the last newline of a JSON Lines file of `size` bytes — a torn last
    /// line, left by a crash inside a `write` — and makes the cut durable; returns the size kept.
    public func cutAfterLastNewline(size: Int) throws(SystemError) -> Int {
        var kept = 0
        var end = size
        while end > 0 {
            let start = max(0, end - (64 << 10))
            if let newline = try read(at: start, count: end - start).lastIndex(of: 0x0A) {
                kept = start + newline + 1
                break
            }
            end = start
        }
        guard kept < size else { return size }
        try truncate(to: kept)
        try sync()
        return kept
    }

    /// Cuts the file to `size` bytes. The corresponding C function is `ftruncate`.
    public func truncate(to size: Int) throws(SystemError) {
        try systemCall("ftruncate", "fd \(rawValue)") { ftruncate(rawValue, off_t(size)) }
    }
}
