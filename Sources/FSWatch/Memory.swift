import CLinuxShim

public enum Memory {
    /// Gives memory freed after a burst back to the kernel (glibc keeps it otherwise), so a
    /// daemon's resident size returns to its steady level. The corresponding C function is
    /// `malloc_trim`.
    public static func returnFreedPages() { _ = malloc_trim(0) }
}
