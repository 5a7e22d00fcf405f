/// Why a dropped file was refused: one line, written to `rejected/NAME.reason.json`.
public struct Rejection: Error, CustomStringConvertible, Sendable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
