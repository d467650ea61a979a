import Foundation
import LatentCorpus
import LatentLinearAlgebra

/// Runs the jobs of a computation on threads of this process, using every core.
///
/// One thread reads the corpus ahead (`ChunkPrefetcher`); `threads` job threads each take
/// the next chunk, run its job and place the partial state in a `MergeTree`, performing any
/// merge that placement makes ready. So merges happen as jobs finish, in parallel, and the
/// result depends only on the chunks, never on timing.
///
/// BLAS threads: with several job threads, each BLAS call runs on one thread (two levels of
/// threads would oversubscribe the cores); when the corpus is known to be a single chunk,
/// BLAS gets all `threads` instead. The final merges of the waiting states also use all.
public struct InProcessExecutor: ChunkExecutor {
    /// Cores to use: job threads times BLAS threads never exceeds it.
    public let threads: Int

    /// - Parameter threads: cores to use; nil (the default) means every core.
    public init(threads: Int? = nil) {
        self.threads = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
    }

    public var description: String { "in-process, \(threads) thread\(threads == 1 ? "" : "s")" }

    public func run<Computation: ChunkedComputation, C: Corpus>(
        _ computation: Computation, over corpus: C, chunkSize: Int,
        progress: (@Sendable (TrainingProgress) -> Void)?
    ) async throws -> Computation.PartialState? {
        let chunkSize = max(1, chunkSize)
        let expectedChunks = corpus.documentCount.map { max(1, ($0 + chunkSize - 1) / chunkSize) }
        let jobThreads = max(1, min(threads, expectedChunks ?? threads))
        BLAS.threads = max(1, threads / jobThreads)

        let prefetcher = ChunkPrefetcher(corpus, chunkSize: chunkSize, depth: jobThreads + 1)
        let run = RunState<Computation.PartialState>(
            threads: jobThreads, total: corpus.documentCount, progress: progress)
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                run.onFinish(continuation)
                for number in 0..<jobThreads {
                    let thread = Thread {
                        Self.work(computation, prefetcher: prefetcher, chunkSize: chunkSize, run: run)
                    }
                    thread.name = "latent.job.\(number)"
                    thread.stackSize = 8 << 20
                    thread.start()
                }
            }
        } onCancel: {
            run.fail(CancellationError())
            prefetcher.cancel()
        }
        prefetcher.cancel()
        if let failure = run.failure { throw failure }

        BLAS.threads = threads
        let waiting = run.drain()
        guard var merged = waiting.first else { return nil }
        for state in waiting.dropFirst() { merged = try computation.merge(merged, state) }
        return merged
    }

    private static func work<Computation: ChunkedComputation>(
        _ computation: Computation, prefetcher: ChunkPrefetcher, chunkSize: Int,
        run: RunState<Computation.PartialState>
    ) {
        defer { run.threadFinished() }
        while !run.stopped {
            do {
                guard let chunk = try prefetcher.next() else { return }
                let index = chunk.firstDocument / chunkSize
                var pending = MergeTree.leaf(index, try computation.process(chunk, index: index))
                while let merge = run.place(pending) {
                    pending = MergeTree.parent(of: merge, merged: try computation.merge(merge.earlier, merge.later))
                }
                run.finished(chunk)
            } catch {
                run.fail(error)
                prefetcher.cancel()
                return
            }
        }
    }
}

/// What the job threads of one run share, behind one lock.
private final class RunState<State>: @unchecked Sendable {
    // Every stored property below is guarded by `lock`.
    private let lock = NSLock()
    private var tree = MergeTree<State>()
    private var firstFailure: (any Error)?
    private var running: Int
    private var continuation: CheckedContinuation<Void, Never>?
    private var progress: TrainingProgress
    private let report: (@Sendable (TrainingProgress) -> Void)?

    init(threads: Int, total: Int?, progress: (@Sendable (TrainingProgress) -> Void)?) {
        running = threads
        self.progress = TrainingProgress(documentsDone: 0, documentsTotal: total, chunksDone: 0,
                                         pass: 1, passes: 1)
        report = progress
    }

    var stopped: Bool { lock.withLock { firstFailure != nil } }
    var failure: (any Error)? { lock.withLock { firstFailure } }

    func onFinish(_ continuation: CheckedContinuation<Void, Never>) {
        lock.withLock { self.continuation = continuation }
    }

    func place(_ pending: MergeTree<State>.Pending) -> MergeTree<State>.Merge? {
        lock.withLock { tree.place(pending) }
    }

    func finished(_ chunk: SparseChunk) {
        let snapshot = lock.withLock {
            progress.documentsDone += chunk.documentCount
            progress.chunksDone += 1
            return progress
        }
        report?(snapshot)
    }

    func fail(_ error: any Error) {
        lock.withLock { if firstFailure == nil { firstFailure = error } }
    }

    func threadFinished() {
        let resume: CheckedContinuation<Void, Never>? = lock.withLock {
            running -= 1
            guard running == 0 else { return nil }
            defer { continuation = nil }
            return continuation
        }
        resume?.resume()
    }

    func drain() -> [State] { lock.withLock { tree.drain() } }
}
