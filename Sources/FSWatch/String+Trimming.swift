// Here rather than in HomelabCore: the HTTP client's parser needs it too.
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
