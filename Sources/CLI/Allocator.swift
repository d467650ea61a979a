#if canImport(Glibc)
import CMalloc
#endif

/// Tunes glibc's allocator for Latent's pattern: job threads allocate and free buffers of a
/// few MB for every chunk, and LSI's dense intermediates (terms x sketch values) are
/// hundreds of MB each. By default glibc serves large blocks with fresh mmap pages and
/// hands freed memory back to the kernel, so every chunk and every pass pays its page
/// faults again (measured on the 1,000,000-document example this was a third of the run
/// time; on a multi-pass run over 100,000 x 100,000 it was 7.6 GB of faults for a 2.2 GB
/// peak, a fifth of the run time).
///
/// - Blocks come from the heap, never from their own mmap, and freed memory stays for reuse
///   (it costs at most the peak the run needs anyway).
/// - One arena: a job thread's arena cannot hold a block above 64 MB, and glibc then maps
///   such a block on its own whatever `M_MMAP_MAX` says, and unmaps it on free. Latent's
///   threads do their work in preallocated buffers, so one arena's lock costs nothing.
enum Allocator {
    static func keepFreedMemory() {
        #if canImport(Glibc)
        _ = mallopt(M_ARENA_MAX, 1)
        _ = mallopt(M_MMAP_THRESHOLD, 32 << 20)
        _ = mallopt(M_MMAP_MAX, 0)
        _ = mallopt(M_TRIM_THRESHOLD, Int32.max)
        #endif
    }

    /// Hands the memory freed so far back to the system: for a long-lived process between
    /// pieces of work (the dispatcher after each run), where keeping the last run's peak
    /// would hold gigabytes while idle.
    static func returnFreedMemory() {
        #if canImport(Glibc)
        _ = malloc_trim(0)
        #endif
    }
}
