extension String {
    /// Without leading and trailing whitespace.
    public func trimmingWhitespace() -> String {
        var text = Substring(self)
        while let last = text.last, last.isWhitespace { text.removeLast() }
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        return String(text)
    }
}

extension Substring {
    public func trimmingWhitespace() -> String { String(self).trimmingWhitespace() }
}

extension String {
    /// A number with two decimals, for log lines and status files.
    public init(format2 value: Double) {
        let hundredths = Int((value * 100).rounded())
        let fraction = abs(hundredths % 100)
        self = "\(hundredths < 0 && hundredths > -100 ? "-" : "")\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
