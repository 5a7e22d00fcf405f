/// How long to wait before the next try after a failure: `first`, doubling with each failure
/// up to `longest`, and `first` again after a success.
public struct Backoff: Sendable {
    public let first: Duration
    public let longest: Duration
    /// The wait the next failure gets.
    public private(set) var next: Duration

    public init(first: Duration, longest: Duration) {
        self.first = first
        self.longest = longest
        next = first
    }

    /// The wait for this failure; the one after it is twice as long, at most `longest`.
    public mutating func take() -> Duration {
        defer { next = min(next * 2, longest) }
        return next
    }

    public mutating func reset() { next = first }
}
