#if canImport(Glibc)
import CMalloc
#endif

/// Tunes glibc's allocator for Latent's pattern: job threads allocate and free buffers of a
/// few MB for every chunk. By default glibc serves those with fresh mmap pages or hands
/// freed memory back to the kernel at once (madvise), so every chunk pays its page faults
/// again; measured on the 1,000,000-document example this was a third of the run time.
/// Keeping freed blocks for reuse costs at most the peak the run needs anyway.
enum Allocator {
    static func keepFreedMemory() {
        #if canImport(Glibc)
        _ = mallopt(M_MMAP_THRESHOLD, 32 << 20)
        _ = mallopt(M_TRIM_THRESHOLD, 256 << 20)
        _ = mallopt(M_MMAP_MAX, 0)
        #endif
    }
}

/// The linear-algebra layer is compiled for AVX2 and FMA on Linux (see Package.swift). On an
/// older x86-64 CPU it would die of an illegal instruction; this says why instead.
enum CPUCheck {
    static func requireAVX2() throws {
        #if os(Linux) && arch(x86_64)
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return }
        let present = Set(flags.split(separator: " ").map(String.init))
        guard present.contains("avx2") && present.contains("fma") else {
            throw CleanExit.message("latent: error: this build needs an x86-64 CPU with AVX2 and FMA (Haswell or later)", code: 1)
        }
        #endif
    }
}

import Foundation
