import FSWatch
import HomelabCore

/// `.cursor` in the spool: how far the transport has acknowledged (everything before
/// `offset` in segment `segment`, and every earlier segment), and how many events were not
/// spooled because the spool was full (`gaps`), a count that must survive restarts.
struct SpoolCursor: Equatable {
    var segment = 1
    var offset = 0
    var gaps = 0

    /// The cursor in `path`; a fresh one when there is none. A cursor that does not read as one
    /// is an error, not a fresh start: that would resend (harmless) but also forget the gaps.
    static func read(_ path: String) throws(SpoolError) -> SpoolCursor {
        guard fileKind(path) != nil else { return SpoolCursor() }
        guard let object = FileContents.object(path), let segment = object["segment"]?.int, let offset = object["offset"]?.int,
              segment >= 1, offset >= 0
        else { throw SpoolError("\(path) is not a spool cursor (delete it to resend everything spooled)") }
        return SpoolCursor(segment: segment, offset: offset, gaps: object["gaps"]?.int ?? 0)
    }

    /// Written whole or not at all. Fsynced, not its folder: a cursor that a power cut takes
    /// back only resends acknowledged events, which the server de-duplicates.
    func write(_ path: String) throws(SystemError) {
        let object: JSONObject = ["segment": .int(segment), "offset": .int(offset), "gaps": .int(gaps)]
        try AtomicFile.write(JSONWriter.encode(.object(object)) + [0x0A], to: path, mode: 0o600, durability: .file)
    }
}

/// The spool's own files are wrong (no errno): one line naming the file.
public struct SpoolError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
