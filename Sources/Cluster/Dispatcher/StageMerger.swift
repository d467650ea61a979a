import Dispatch
import Foundation
import LatentLinearAlgebra
import LatentModels

/// Merges the partial states of one stage as they arrive, in the same fixed tree as the
/// in-process executor (`MergeTree`), so a run gives the same model whichever worker
/// finished which job when. Merges run off the RPC tasks, so that heartbeats and transfers
/// go on while a long merge runs.
///
/// Merges run one at a time, each on one core while jobs are still out (workers may share
/// this machine), and on every core once the last job's state is in: the merges left then
/// are the run's tail, and nothing else needs the machine.
final class StageMerger: @unchecked Sendable {
    let computation: any RemoteComputation
    // `tree` and `lastJobIn` are guarded by `lock`.
    private let lock = NSLock()
    private var tree = MergeTree<OpaqueState>()
    private var lastJobIn = false
    private static let mergeQueue = DispatchQueue(label: "latent.dispatcher.merge")

    init(_ computation: any RemoteComputation) {
        self.computation = computation
    }

    /// Every job's state has arrived (the merges may not be done).
    func markLastJobIn() {
        lock.withLock { lastJobIn = true }
    }

    /// Places the state of chunk `index`, performing every merge that makes ready.
    func add(_ index: Int, _ state: OpaqueState) async throws {
        var pending = MergeTree<OpaqueState>.leaf(index, state)
        while let merge = lock.withLock({ tree.place(pending) }) {
            let merged = try await merging { computation in try computation.merge(merge.earlier, merge.later) }
            pending = MergeTree.parent(of: merge, merged: merged)
        }
    }

    /// Once every job's state was added: the merge of all, encoded; nil when there were none.
    func finish() async throws -> [UInt8]? {
        markLastJobIn()
        let waiting = lock.withLock { tree.drain() }
        guard !waiting.isEmpty else { return nil }
        return try await merging { computation in
            var merged = waiting[0]
            for state in waiting.dropFirst() { merged = try computation.merge(merged, state) }
            return computation.encode(merged)
        }
    }

    /// Runs `work` on the merge queue with the BLAS threads the moment allows.
    private func merging<T: Sendable>(_ work: @escaping @Sendable (any RemoteComputation) throws -> T) async throws -> T {
        let computation = self.computation
        return try await withCheckedThrowingContinuation { continuation in
            Self.mergeQueue.async {
                let tail = self.lock.withLock { self.lastJobIn }
                BLAS.threads = tail ? ProcessInfo.processInfo.activeProcessorCount : 1
                defer { BLAS.threads = 1 }
                continuation.resume(with: Result { try work(computation) })
            }
        }
    }
}
