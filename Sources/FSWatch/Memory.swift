import CLinuxShim

public enum Memory {
    /// Gives memory freed after a burst back to the kernel (glibc keeps it otherwise), so a
    /// daemon's resident size returns to its steady level. The corresponding C function is
    /// `malloc_trim`.
    public static func returnFreedPages() { _ = malloc_trim(0) }

    /// Large allocations (≥ 128 KiB) always get their own mapping, returned to the kernel the
    /// moment they are freed. glibc otherwise raises that threshold each time one is freed, and
    /// then serves the next ones from the heap, where a long-lived array grown by doubling (the
    /// observer's de-duplication window) pins its freed predecessors. Setting it fixes it.
    /// The corresponding C function is `mallopt(M_MMAP_THRESHOLD)`.
    public static func mapLargeAllocations() { _ = mallopt(M_MMAP_THRESHOLD, 128 << 10) }
}
