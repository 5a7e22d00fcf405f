/// Runs one system call that reports failure as -1 with `errno`: retries on EINTR, throws
/// anything else. EBADF and EFAULT are bugs in this program, not conditions to handle, so they trap.
@inline(never)
@discardableResult
public func systemCall<T: FixedWidthInteger>(
    _ call: String, _ subject: @autoclosure () -> String? = nil, _ body: () -> T
) throws(SystemError) -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let errno = Errno.current
        if errno == .interrupted { continue }
        try fail(call, errno, subject())
    }
}

/// As `systemCall`, but EAGAIN (the non-blocking "nothing now") comes back as `nil`.
@inline(never)
public func systemCallUnlessWouldBlock<T: FixedWidthInteger>(
    _ call: String, _ subject: @autoclosure () -> String? = nil, _ body: () -> T
) throws(SystemError) -> T? {
    while true {
        let result = body()
        if result != -1 { return result }
        let errno = Errno.current
        if errno == .interrupted { continue }
        if errno == .wouldBlock { return nil }
        try fail(call, errno, subject())
    }
}

private func fail(_ call: String, _ errno: Errno, _ subject: String?) throws(SystemError) -> Never {
    if errno == .badDescriptor || errno == .badAddress {
        fatalError("\(SystemError(call, errno, subject: subject)) — a descriptor or buffer misused by this program")
    }
    throw SystemError(call, errno, subject: subject)
}

extension String {
    /// The text a C function wrote into `buffer`, up to its first NUL (or the whole buffer).
    public init(cBuffer buffer: [CChar]) {
        self.init(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
