#if canImport(Glibc)
import Glibc
#endif
import FSWatch

public enum LogLevel: String, Comparable, Sendable {
    case debug, info, warning, error

    private var rank: Int {
        switch self {
        case .debug: 0
        case .info: 1
        case .warning: 2
        case .error: 3
        }
    }

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rank < b.rank }
}

/// A service's log: one line per thing that happened, to stderr (for `docker compose logs`)
/// and, when given a file, to `logs/SERVICE.log` as well — capped in size with one rotation
/// (`SERVICE.log.1`). Single-threaded, like the loop that owns it.
public final class Logger {
    public let service: String
    public let level: LogLevel
    private let path: String?
    private let maxBytes: Int
    private var file: FileDescriptor?
    private var size = 0
    private let mirrorToStandardError: Bool

    public init(service: String, level: LogLevel, file path: String? = nil, maxBytes: Int = 10 << 20, mirrorToStandardError: Bool = true) {
        self.service = service
        self.level = level
        self.path = path
        self.maxBytes = maxBytes
        self.mirrorToStandardError = mirrorToStandardError
        openFile()
    }

    deinit { closeFile() }

    private func closeFile() {
        if let file = file.take() { file.close() }
    }

    public func debug(_ message: @autoclosure () -> String) { log(.debug, message()) }
    public func info(_ message: @autoclosure () -> String) { log(.info, message()) }
    public func warning(_ message: @autoclosure () -> String) { log(.warning, message()) }
    public func error(_ message: @autoclosure () -> String) { log(.error, message()) }

    public func log(_ level: LogLevel, _ message: @autoclosure () -> String) {
        guard level >= self.level else { return }
        let line = Array("\(Timestamp.now().iso8601Milliseconds) \(level.rawValue.uppercased()) \(service): \(message())\n".utf8)
        if mirrorToStandardError { line.withUnsafeBytes { _ = Glibc.write(2, $0.baseAddress, $0.count) } }
        guard file != nil else { return }
        if size + line.count > maxBytes { rotate() }
        guard let fd = file?.rawValue else { return }
        line.withUnsafeBytes { buffer in
            if Glibc.write(fd, buffer.baseAddress, buffer.count) > 0 { size += buffer.count }
        }
    }

    private func openFile() {
        guard let path else { return }
        file = try? FileDescriptor.open(path, O_WRONLY | O_CREAT | O_APPEND)
        var info = stat()
        let fd = file?.rawValue ?? -1
        size = fd >= 0 && fstat(fd, &info) == 0 ? Int(info.st_size) : 0
    }

    private func rotate() {
        guard let path, file != nil else { return }
        closeFile()
        _ = Glibc.rename(path, path + ".1")
        openFile()
    }
}
