import LatentCorpus

/// A computation over a corpus cut into jobs, one per chunk of consecutive documents, whose
/// results ("partial states") combine with an associative merge.
///
/// This is the split of design §2: a model says what to do with one chunk and how to merge
/// two partial states; an executor (`InProcessExecutor`, or a cluster executor) decides
/// where the jobs run and in what order the states meet. Model code never knows which.
///
/// Jobs must be pure functions of the chunk, its index and the computation's own fields
/// (randomness is seeded from the chunk index), so that a job can be run again elsewhere
/// after a failure and still give the same state.
public protocol ChunkedComputation: Sendable {
    associatedtype PartialState: Sendable

    /// What the logs and errors call one job, e.g. "LSI chunk decomposition".
    var name: String { get }

    /// The partial state of one chunk. `index` is the chunk's position in the pass
    /// (0, 1, ...); chunks are `chunkSize` documents each, the last possibly fewer.
    func process(_ chunk: SparseChunk, index: Int) throws -> PartialState

    /// The state of the chunks of `earlier` followed directly by those of `later`.
    /// Must be associative (up to rounding): executors merge in trees.
    func merge(_ earlier: PartialState, _ later: PartialState) throws -> PartialState
}

/// Where the jobs of a `ChunkedComputation` run.
public protocol ChunkExecutor: Sendable {
    /// For logs: "in-process, 2 threads".
    var description: String { get }

    /// Runs `computation` over every chunk of `corpus` and returns the merge of all the
    /// partial states, or nil for an empty corpus. `progress` is called (from any thread)
    /// each time a job finishes.
    func run<Computation: ChunkedComputation, C: Corpus>(
        _ computation: Computation, over corpus: C, chunkSize: Int,
        progress: (@Sendable (TrainingProgress) -> Void)?
    ) async throws -> Computation.PartialState?

    /// Runs `body`, which makes one or more calls to `run` (a multi-pass model makes one per
    /// pass), as one training run described by `description`. A cluster executor opens a
    /// run at its dispatcher for it, so that passes of one model are never mixed with
    /// another client's; the default just calls `body` with this executor.
    func session<Result: Sendable>(
        _ description: TrainingDescription, _ body: (any ChunkExecutor) async throws -> Result
    ) async throws -> Result
}

/// How far a pass over a corpus has come.
public struct TrainingProgress: Sendable, Equatable {
    /// Documents whose jobs have finished in this pass: gensim's "processed documents up
    /// to #N". Jobs finish out of order, so these are not always the first N documents.
    public var documentsDone: Int
    /// Documents in the pass, when the corpus knows its size.
    public var documentsTotal: Int?
    /// Jobs finished in this pass.
    public var chunksDone: Int
    /// Which pass this is (1-based) and how many the computation needs (multi-pass LSI
    /// makes 2 + q passes; one-pass LSI makes one).
    public var pass: Int
    public var passes: Int

    public init(documentsDone: Int, documentsTotal: Int?, chunksDone: Int, pass: Int, passes: Int) {
        self.documentsDone = documentsDone
        self.documentsTotal = documentsTotal
        self.chunksDone = chunksDone
        self.pass = pass
        self.passes = passes
    }
}
