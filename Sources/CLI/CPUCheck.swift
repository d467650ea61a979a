import Foundation

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
