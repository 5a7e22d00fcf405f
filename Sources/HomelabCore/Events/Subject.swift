/// `KIND/NAME`, the address of a resource (SPEC §4.2): KIND and each of NAME's 1–8 segments
/// match `[A-Za-z0-9][A-Za-z0-9._-]*`. NAME may contain `/`, and becomes nested folders
/// under `world/KIND/`, so the grammar is also what keeps paths inside the world.
public struct Subject: Hashable, Sendable, CustomStringConvertible {
    public let kind: String
    public let name: String

    public static let maxNameSegments = 8
    static let maxSegmentLength = 128

    public init(kind: String, name: String) {
        self.kind = kind
        self.name = name
    }

    /// Parses `KIND/NAME`; nil with the reason in `problem` when it does not fit the grammar.
    public static func parse(_ text: String, minNameSegments: Int = 1, maxNameSegments: Int = maxNameSegments) -> Result<Subject, SubjectError> {
        // One pass over the bytes for the common case (every event of a burst has a subject);
        // the split below only says what is wrong.
        var segments = 1, kindEnd: String.Index?, segmentStart = true, length = 0, valid = true
        let utf8 = text.utf8
        for index in utf8.indices {
            let byte = utf8[index]
            if byte == UInt8(ascii: "/") {
                valid = valid && !segmentStart
                segments += 1
                if kindEnd == nil { kindEnd = index }
                segmentStart = true
                length = 0
                continue
            }
            length += 1
            valid = valid && length <= maxSegmentLength && (segmentStart ? isAlphanumeric(byte) : isSegmentByte(byte))
            segmentStart = false
        }
        if valid, !segmentStart, let kindEnd, (1 + minNameSegments...1 + maxNameSegments).contains(segments) {
            return .success(Subject(kind: String(text[..<kindEnd]), name: String(text[utf8.index(after: kindEnd)...])))
        }
        let split = text.split(separator: "/", omittingEmptySubsequences: false)
        guard split.count >= 1 + minNameSegments else {
            return .failure(SubjectError("\"\(text)\" is not KIND/NAME"))
        }
        guard split.count <= 1 + maxNameSegments else {
            return .failure(SubjectError("\"\(text)\" has more than \(maxNameSegments) name segments"))
        }
        for segment in split where !isValidSegment(segment) {
            return .failure(SubjectError("\"\(text)\": segment \"\(segment)\" does not match [A-Za-z0-9][A-Za-z0-9._-]*"))
        }
        return .success(Subject(kind: String(split[0]), name: split.dropFirst().joined(separator: "/")))
    }

    public static func isValidName(_ name: String) -> Bool {
        let segments = name.split(separator: "/", omittingEmptySubsequences: false)
        return (1...maxNameSegments).contains(segments.count) && segments.allSatisfy(isValidSegment)
    }

    /// A node's name is one segment of a subject's NAME (SPEC §4.2): safe as a file or folder name.
    public static func isValidNodeName(_ name: String) -> Bool {
        !name.contains("/") && isValidName(name)
    }

    static func isValidSegment(_ segment: Substring) -> Bool {
        let bytes = segment.utf8
        guard let first = bytes.first, bytes.count <= maxSegmentLength, isAlphanumeric(first) else { return false }
        return bytes.allSatisfy(isSegmentByte)
    }

    private static func isSegmentByte(_ byte: UInt8) -> Bool {
        isAlphanumeric(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }

    public var description: String { kind + "/" + name }
}

public struct SubjectError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
