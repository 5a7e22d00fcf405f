import CLinuxShim

/// Bytes from the kernel's random pool, for ids nobody else will pick.
public enum Random {
    /// `count` random bytes; blocks only until the pool is first seeded after boot.
    /// The corresponding C function is `getrandom`.
    public static func bytes(_ count: Int) throws(SystemError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            // Requests over 256 bytes may come back short.
            done += try systemCall("getrandom") {
                bytes.withUnsafeMutableBytes { getrandom($0.baseAddress! + done, count - done, 0) }
            }
        }
        return bytes
    }
}
