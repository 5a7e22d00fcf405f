/// A failed system call: which call, on what, and the kernel's answer — one line a human can act on.
public struct SystemError: Error, Sendable, CustomStringConvertible {
    /// The C name of the call, such as `inotify_add_watch`.
    public let call: String
    public let errno: Errno
    /// What the call was about: a path, a descriptor, a pid.
    public let subject: String?

    public init(_ call: String, _ errno: Errno, subject: String? = nil) {
        self.call = call
        self.errno = errno
        self.subject = subject
    }

    public var description: String {
        if let subject { return "\(call) \(subject): \(errno)" }
        return "\(call): \(errno)"
    }
}
