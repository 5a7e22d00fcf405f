#if canImport(Glibc)
import Glibc
#endif

extension HTTPServer {
    /// What every answer carries, ready as bytes: the `Date` (RFC 9110 §6.6.1, an IMF-fixdate
    /// rebuilt once a second rather than formatted per answer) and the settings' fixed headers.
    func commonHeaders() -> [UInt8] {
        let now = time(nil)
        if now != commonSecond {
            commonSecond = now
            var bytes = Array("Date: ".utf8) + HTTPServer.imfFixdate(now) + Array("\r\n".utf8)
            for (name, value) in settings.headers { bytes += Array("\(name): \(value)\r\n".utf8) }
            common = bytes
        }
        return common
    }

    /// `Sun, 06 Nov 1994 08:49:37 GMT`.
    static func imfFixdate(_ seconds: time_t) -> [UInt8] {
        var clock = seconds
        var parts = tm()
        gmtime_r(&clock, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let text = "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
        return Array(text.utf8)
    }
}
