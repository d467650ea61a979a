import Foundation
import LatentCorpus
import LatentLinearAlgebra
import Synchronization

/// Runs the jobs of a computation on threads of this process, using every core.
///
/// Each pass reads its corpus on a thread of its own (`ChunkPrefetcher`) a few chunks
/// ahead. Each reduction starts up to `threads` job threads, which take the next chunk,
/// run its job and place the partial state in the reduction's `TreeMerger`, performing
/// any merge that placement makes ready. So merges happen as jobs finish, in parallel, and
/// the result depends only on the chunks, never on timing.
///
/// BLAS threads (`ComputeThreads`): with several job threads, each BLAS call runs on one
/// thread (two levels of threads would oversubscribe the cores); when a reduction is known
/// to be a single chunk, BLAS gets all `threads` instead. The final merges of the waiting
/// states also use all.
public struct InProcessExecutor: ChunkExecutor {
    /// Cores to use: job threads times BLAS threads never exceeds it.
    public let threads: Int

    /// - Parameter threads: cores to use; nil (the default) means every core.
    public init(threads: Int? = nil) {
        self.threads = max(1, threads ?? ComputeThreads.cores)
    }

    public var description: String { "in-process, \(threads) thread\(threads == 1 ? "" : "s")" }

    public func session<Result: Sendable>(
        _ description: SessionDescription, _ body: (any TrainingSession) async throws -> Result
    ) async throws -> Result {
        try await body(InProcessSession(threads: threads))
    }
}

/// A session of the in-process executor: nothing to open or close but its passes.
struct InProcessSession: TrainingSession {
    let threads: Int

    var runsInProcess: Bool { true }

    func pass<C: Corpus, Result: Sendable>(
        over corpus: C, chunkSize: Int, progress: (@Sendable (TrainingProgress) -> Void)?,
        _ body: (any TrainingPass) async throws -> Result
    ) async throws -> Result {
        let pass = InProcessPass(corpus, chunkSize: chunkSize, threads: threads, progress: progress)
        defer { pass.close() }
        return try await body(pass)
    }
}

/// One read of a corpus, shared by the reductions that consume its chunks in turn.
final class InProcessPass: TrainingPass {
    private let reader: PassReader
    private let chunkSize: Int
    private let threads: Int
    private let documentTotal: Int?
    private let report: (@Sendable (TrainingProgress) -> Void)?
    private let cursor: Mutex<Cursor>

    /// Where the pass stands: chunks handed to reductions so far, and the progress.
    private struct Cursor {
        /// Chunks handed to reductions (or skipped), and whether the reader found the end.
        var position = PassPosition.start
        var progress: TrainingProgress
    }

    init<C: Corpus>(_ corpus: C, chunkSize: Int, threads: Int, progress: (@Sendable (TrainingProgress) -> Void)?) {
        self.chunkSize = max(1, chunkSize)
        self.threads = threads
        documentTotal = corpus.documentCount
        report = progress
        reader = PassReader(corpus, chunkSize: self.chunkSize, depth: threads + 1)
        cursor = Mutex(Cursor(progress: TrainingProgress(documentsDone: 0, documentsTotal: corpus.documentCount,
                                                         chunksDone: 0, pass: 1, passes: 1)))
    }

    func close() { reader.cancel() }

    var position: PassPosition {
        cursor.withLock { $0.position }
    }

    func skip(chunks: Int?) async throws {
        guard cursor.withLock({ $0.position.skip(chunks) }) else { return }
        try reader.skip(chunks: chunks)
    }

    func reduce<Computation: ChunkedComputation>(
        _ computation: Computation, nextChunks chunks: Int?
    ) async throws -> Computation.PartialState? {
        try await reduce(computation, nextChunks: chunks, resuming: nil, saving: nil)
    }

    /// A reduction that may continue from `prefix`, the finished start of the same
    /// reduction in an earlier run (a checkpoint's), and hands `saving` its finished start
    /// from time to time.
    func reduce<Computation: ChunkedComputation>(
        _ computation: Computation, nextChunks chunks: Int?,
        resuming prefix: ReductionPrefix<Computation.PartialState>?, saving: PrefixSaving<Computation.PartialState>?
    ) async throws -> Computation.PartialState? {
        let (first, exhausted) = cursor.withLock { ($0.position.chunks, $0.position.ended) }
        if exhausted || chunks == 0 { return nil }
        let remaining = documentTotal.map { max(0, ($0 + chunkSize - 1) / chunkSize - first) }
        let expected = min(chunks ?? Int.max, remaining ?? Int.max) - (prefix?.chunks ?? 0)
        let merger = try prefix.map { try TreeMerger(computation, firstChunk: first, resuming: $0) }
            ?? TreeMerger(computation, firstChunk: first)
        if let prefix, prefix.chunks > 0 {
            try await skip(chunks: prefix.chunks)
            cursor.withLock { cursor in
                cursor.progress.chunksDone += prefix.chunks
                cursor.progress.documentsDone += min(prefix.chunks * chunkSize,
                                                     (documentTotal ?? Int.max) - cursor.progress.documentsDone)
            }
        }
        if expected <= 0 { return try merger.finish() }
        let jobThreads = max(1, min(threads, expected))
        ComputeThreads.share(threads, among: jobThreads)
        defer { ComputeThreads.alone(on: threads) }

        let reduction = Reduction(threads: jobThreads, limit: chunks.map { first + $0 })
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                reduction.onFinish(continuation)
                for number in 0..<jobThreads {
                    let thread = Thread { self.work(computation, merger: merger, reduction: reduction, saving: saving) }
                    thread.name = "latent.job.\(number)"
                    thread.stackSize = 8 << 20
                    thread.start()
                }
            }
        } onCancel: {
            reduction.fail(CancellationError())
            reader.cancel()
        }
        if let failure = reduction.failure {
            reader.cancel()
            throw failure
        }
        ComputeThreads.alone(on: threads)
        return try merger.finish()
    }

    /// A job thread: takes chunks until the reduction has its chunks or the pass ends.
    private func work<Computation: ChunkedComputation>(
        _ computation: Computation, merger: TreeMerger<Computation>, reduction: Reduction,
        saving: PrefixSaving<Computation.PartialState>?
    ) {
        defer { reduction.threadFinished() }
        while !reduction.stopped {
            guard take(upTo: reduction.limit) else { return }
            do {
                guard let chunk = try reader.next() else {
                    cursor.withLock { $0.position.ended = true }
                    return
                }
                let index = chunk.firstDocument / chunkSize, documents = chunk.documentCount
                try merger.add(index, try computation.process(consume chunk, index: index))
                let snapshot = cursor.withLock { cursor in
                    cursor.progress.documentsDone += documents
                    cursor.progress.chunksDone += 1
                    return cursor.progress
                }
                report?(snapshot)
                try saving?.saveIfDue { merger.prefix }
            } catch {
                reduction.fail(error)
                reader.cancel()
                return
            }
        }
    }

    /// Reserves the next chunk of the pass for the calling job thread, unless the pass is
    /// over or the reduction has all its chunks (`limit`: chunk numbers below it).
    private func take(upTo limit: Int?) -> Bool {
        cursor.withLock { cursor in
            guard !cursor.position.ended, limit.map({ cursor.position.chunks < $0 }) ?? true else { return false }
            cursor.position.chunks += 1
            return true
        }
    }
}

/// Where a reduction's finished start goes, every `interval` at most (a checkpoint).
final class PrefixSaving<State: Sendable>: Sendable {
    let interval: Duration
    let save: @Sendable (ReductionPrefix<State>) throws -> Void
    /// When the last save started, and whether one is under way (another thread's).
    private let last = Mutex((started: ContinuousClock.now, busy: false))

    init(interval: Duration, save: @escaping @Sendable (ReductionPrefix<State>) throws -> Void) {
        self.interval = interval
        self.save = save
    }

    /// Saves `prefix()` when `interval` has passed since the last save started (or the
    /// reduction did) and no other thread is saving; the other job threads go on working.
    func saveIfDue(_ prefix: () -> ReductionPrefix<State>) throws {
        let due = last.withLock { last in
            let now = ContinuousClock.now
            guard !last.busy, now - last.started >= interval else { return false }
            last = (now, true)
            return true
        }
        guard due else { return }
        defer { last.withLock { $0.busy = false } }
        try save(prefix())
    }
}

/// What the job threads of one reduction share.
private final class Reduction: Sendable {
    let limit: Int?
    private let state: Mutex<State>

    private struct State {
        var running: Int
        var failure: (any Error)?
        var continuation: CheckedContinuation<Void, Never>?
    }

    init(threads: Int, limit: Int?) {
        self.limit = limit
        state = Mutex(State(running: threads))
    }

    var stopped: Bool { state.withLock { $0.failure != nil } }
    var failure: (any Error)? { state.withLock { $0.failure } }

    func onFinish(_ continuation: CheckedContinuation<Void, Never>) {
        state.withLock { $0.continuation = continuation }
    }

    func fail(_ error: any Error) {
        state.withLock { state in if state.failure == nil { state.failure = error } }
    }

    func threadFinished() {
        let resume: CheckedContinuation<Void, Never>? = state.withLock { state in
            state.running -= 1
            guard state.running == 0 else { return nil }
            defer { state.continuation = nil }
            return state.continuation
        }
        resume?.resume()
    }
}

/// The partial states of one reduction, merged in the fixed tree over its chunks as they
/// arrive (from any thread); what is left waiting is merged left to right at the end.
public final class TreeMerger<Computation: ChunkedComputation>: Sendable {
    public let computation: Computation
    /// The first chunk of the reduction: the tree's leaf 0.
    public let firstChunk: Int
    private let tree: Mutex<MergeTree<Computation.PartialState>>

    public init(_ computation: Computation, firstChunk: Int) {
        self.computation = computation
        self.firstChunk = firstChunk
        tree = Mutex(MergeTree())
    }

    /// A merger that continues from `prefix`, the finished start of the reduction (from a
    /// checkpoint): the next state to add is that of chunk `firstChunk + prefix.chunks`.
    public init(_ computation: Computation, firstChunk: Int, resuming prefix: ReductionPrefix<Computation.PartialState>) throws {
        self.computation = computation
        self.firstChunk = firstChunk
        tree = Mutex(try MergeTree(resuming: prefix))
    }

    /// The finished start of the reduction so far (`MergeTree.prefix`).
    public var prefix: ReductionPrefix<Computation.PartialState> { tree.withLock { $0.prefix } }

    /// Places the state of chunk `index` (of the pass) and performs every merge that makes
    /// ready, on the calling thread.
    public func add(_ index: Int, _ state: Computation.PartialState) throws {
        try add(block: index, level: 0, state)
    }

    /// Places the state of the block of 2^`level` chunks from chunk `index` (of the pass), a
    /// whole subtree of the reduction's tree (`MergeTree.node`), and performs every merge
    /// that makes ready. Throws when the block is not one: `index - firstChunk` must be a
    /// multiple of 2^`level`.
    public func add(block index: Int, level: Int, _ state: Computation.PartialState) throws {
        let offset = index - firstChunk
        guard level >= 0, level < 31, offset >= 0, offset % (1 << level) == 0 else {
            throw ModelError(code: .invalidInput, message: "\(computation.name): chunks \(index) to \(index + (1 << min(max(level, 0), 30)) - 1) are not a block of the reduction from chunk \(firstChunk) (2^level chunks from a multiple of 2^level)")
        }
        var pending = MergeTree.node(level: level, index: offset >> level, state)
        while let merge = tree.withLock({ $0.place(pending) }) {
            pending = MergeTree.parent(of: merge, merged: try computation.merge(merge.earlier, merge.later))
        }
    }

    /// Once every state was added: the merge of all, nil when there were none.
    public func finish() throws -> Computation.PartialState? {
        let waiting = tree.withLock { $0.drain() }
        guard var merged = waiting.first else { return nil }
        for state in waiting.dropFirst() { merged = try computation.merge(merged, state) }
        return merged
    }
}
