import Dispatch
import Foundation
import LatentLinearAlgebra
import LatentModels

/// Merges the partial states of one stage as they arrive, in the same fixed tree as the
/// in-process executor (`MergeTree`), so a run gives the same model whichever worker
/// finished which job when. Merges run on Dispatch threads, off the RPC tasks, so that
/// heartbeats and transfers go on while a long merge runs.
final class StageMerger: @unchecked Sendable {
    let computation: any RemoteComputation
    // `tree` is guarded by `lock`.
    private let lock = NSLock()
    private var tree = MergeTree<OpaqueState>()
    private static let queue = DispatchQueue(label: "latent.dispatcher.merge", attributes: .concurrent)

    init(_ computation: any RemoteComputation) {
        self.computation = computation
    }

    /// Places the state of chunk `index`, performing every merge that makes ready.
    func add(_ index: Int, _ state: OpaqueState) async throws {
        var pending = MergeTree<OpaqueState>.leaf(index, state)
        while let merge = lock.withLock({ tree.place(pending) }) {
            let computation = self.computation
            let merged = try await Self.offload { try computation.merge(merge.earlier, merge.later) }
            pending = MergeTree.parent(of: merge, merged: merged)
        }
    }

    /// Once every job's state was added: the merge of all, encoded; nil when there were none.
    func finish() async throws -> [UInt8]? {
        let waiting = lock.withLock { tree.drain() }
        guard !waiting.isEmpty else { return nil }
        let computation = self.computation
        return try await Self.offload {
            // The last merges have the machine to themselves.
            BLAS.threads = ProcessInfo.processInfo.activeProcessorCount
            defer { BLAS.threads = 1 }
            var merged = waiting[0]
            for state in waiting.dropFirst() { merged = try computation.merge(merged, state) }
            return computation.encode(merged)
        }
    }

    /// Runs CPU-heavy work on a Dispatch thread.
    static func offload<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }
}
