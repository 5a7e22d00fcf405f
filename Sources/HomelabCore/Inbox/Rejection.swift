/// Why a dropped file was refused: one line, written to `rejected/NAME.reason.json`.
public struct Rejection: Error, CustomStringConvertible, Sendable {
    public let reason: String
    /// The bytes do not parse as JSON the way a file still being written does not (a
    /// truncation, not a duplicate key or too deep a nesting): worth a second look if the
    /// file is still changing.
    public let mayBeIncomplete: Bool

    public init(_ reason: String, mayBeIncomplete: Bool = false) {
        self.reason = reason
        self.mayBeIncomplete = mayBeIncomplete
    }

    public var description: String { reason }
}
