import Foundation

/// Two settings that OpenBLAS and glibc read only when a process starts, so `latent` sets
/// them and starts itself again (once, before doing anything else) when they are missing:
///
/// - `OPENBLAS_THREAD_TIMEOUT=20`: after each call OpenBLAS's idle threads spin in
///   `sched_yield` for 2^28 cycles (about a tenth of a second) before they sleep, and on a
///   machine with as many cores as Latent has job threads they take turns with the sparse
///   kernels that run between the calls. 2^20 cycles (well under a millisecond) still keeps
///   them awake through a burst of calls.
/// - `glibc.malloc.hugetlb=1` in `GLIBC_TUNABLES`: the heap is advised to use transparent
///   huge pages (where the kernel leaves them to `madvise`), so the sparse products' reads at
///   random places in the dense side miss the TLB less often.
///
/// Together they cut the CPU time of LSI runs by a tenth or more (mid: 5.46 s to 4.94 s, the
/// medians of twelve runs; BENCHMARKS.md, seventh measurement), time the spinning threads
/// took from the kernels' threads or from anything else on the machine. The second start
/// costs about 15 ms. A value the user set is kept as it is; `LATENT_STARTUP_TUNED` marks
/// the second start so that nothing can loop.
enum StartupTuning {
    static let marker = "LATENT_STARTUP_TUNED"
    static let threadTimeout = "OPENBLAS_THREAD_TIMEOUT"
    static let tunables = "GLIBC_TUNABLES"

    /// The environment `latent` wants, given the one it has; nil when nothing is missing.
    static func tunedEnvironment(_ environment: [String: String]) -> [String: String]? {
        guard environment[marker] == nil else { return nil }
        var changes: [String: String] = [:]
        if environment[threadTimeout] == nil {
            changes[threadTimeout] = "20"
        }
        let given = environment[tunables] ?? ""
        if !given.contains("glibc.malloc.hugetlb") {
            changes[tunables] = given.isEmpty ? "glibc.malloc.hugetlb=1" : given + ":glibc.malloc.hugetlb=1"
        }
        guard !changes.isEmpty else { return nil }
        changes[marker] = "1"
        return changes
    }

    /// The settings this process started with, as `latent selfcheck` reports them.
    static var inEffect: String {
        [threadTimeout, tunables].map { (name: String) -> String in
            guard let value = getenv(name) else { return "\(name) unset" }
            return "\(name)=\(String(cString: value))"
        }.joined(separator: ", ")
    }

    /// Starts this program again with the tuned environment, the same arguments and the same
    /// process id; returns (and the command runs untuned) if it is tuned already, or if the
    /// new start fails.
    static func restartIfUntuned() {
        #if os(Linux)
        var environment: [String: String] = [:]
        for name in [marker, threadTimeout, tunables] {
            if let value = getenv(name) { environment[name] = String(cString: value) }
        }
        guard let changes = tunedEnvironment(environment) else { return }
        for (name, value) in changes { setenv(name, value, 1) }
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Only reached when the new start failed: carry on as this process.
        #endif
    }
}
