#if canImport(Glibc)
import Glibc
#endif

/// Starts `body` on a new POSIX thread and returns it for `pthread_join`: the few places where
/// a second thread earns its keep (the observer's commit work, its sweeper, reading the
/// de-duplication window beside a rebuild) start theirs this one way. The closure is retained
/// until the thread has taken it.
public func startThread(_ name: String, _ body: @escaping () -> Void) throws(SystemError) -> pthread_t {
    let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    var handle = pthread_t()
    let result = pthread_create(&handle, nil, { context in
        Unmanaged<ThreadBody>.fromOpaque(context!).takeRetainedValue().body()
        return nil
    }, context)
    guard result == 0 else {
        Unmanaged<ThreadBody>.fromOpaque(context).release()
        throw SystemError("pthread_create", Errno(rawValue: result), subject: name)
    }
    return handle
}

private final class ThreadBody {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}
