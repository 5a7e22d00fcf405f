/// This boot of the machine (`/proc/sys/kernel/random/boot_id`): state written without
/// fsync is trusted only within the boot that wrote it.
public enum BootID {
    public static let current: String = {
        guard let bytes = FileContents.read("/proc/sys/kernel/random/boot_id") else { return "unknown" }
        return String(decoding: bytes, as: UTF8.self).trimmingWhitespace()
    }()
}
