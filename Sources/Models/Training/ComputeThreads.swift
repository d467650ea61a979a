import Foundation
import LatentLinearAlgebra

/// The one owner of the process-wide thread setting of OpenBLAS and the sparse kernels
/// (`BLAS.threads`): executors say how many jobs run side by side on how many cores, and
/// each BLAS call and kernel then gets its share, so the cores are never oversubscribed.
public enum ComputeThreads {
    /// The cores of this machine.
    public static var cores: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// `jobs` run side by side on `cores` cores: each call gets `cores / jobs` threads (at
    /// least 1).
    public static func share(_ cores: Int, among jobs: Int) {
        BLAS.threads = max(1, cores / max(1, jobs))
    }

    /// One call at a time gets all `cores`.
    public static func alone(on cores: Int = ComputeThreads.cores) {
        share(cores, among: 1)
    }

    /// Lowers the calling thread's scheduling priority to nice 10 (on Linux, where a nice
    /// value belongs to a thread; a thread already lower stays as it is): for work nothing
    /// waits on yet, on a machine whose cores it shares with work on the critical path.
    /// Elsewhere it does nothing.
    static func lowerThisThreadsPriority() {
        #if os(Linux)
        let which = __priority_which_t(PRIO_PROCESS.rawValue)
        if getpriority(which, 0) < 10 { _ = setpriority(which, 0, 10) }
        #endif
    }
}
