import LatentCorpus

/// A computation over a corpus cut into jobs, one per chunk of consecutive documents, whose
/// results ("partial states") combine with an associative merge.
///
/// This is the split of design §2: a model says what to do with one chunk and how to merge
/// two partial states; an executor (in-process, or a cluster) decides where the jobs run and
/// in what order the states meet. Model code never knows which.
///
/// Jobs must be pure functions of the chunk, its index and the computation's own fields
/// (randomness is seeded from the chunk index), so that a job can be run again elsewhere
/// after a failure and still give the same state.
public protocol ChunkedComputation: Sendable {
    associatedtype PartialState: Sendable

    /// What the logs and errors call one job, e.g. "LSI chunk decomposition".
    var name: String { get }

    /// The partial state of one chunk. `index` is the chunk's position in its pass (0, 1,
    /// ...); chunks are the pass's chunk size each, the last possibly fewer. The chunk is
    /// handed over: a computation that has made its own form of it can let it go before the
    /// rest of its work (an implementation may take it as borrowing all the same).
    func process(_ chunk: consuming SparseChunk, index: Int) throws -> PartialState

    /// The state of the chunks of `earlier` followed directly by those of `later`.
    /// Must be associative (up to rounding): executors merge in trees.
    func merge(_ earlier: PartialState, _ later: PartialState) throws -> PartialState
}

/// Where the jobs of chunked computations run. Three scopes, each inside the one before:
///
/// - a **session** is one training run (on a cluster, one run at its dispatcher);
/// - a **pass** is one streamed read of a corpus: one reader, chunks numbered 0, 1, ...
///   across the whole pass;
/// - a **reduction** runs a computation over the next chunks of the pass (or the rest of
///   it) and returns the merge of their partial states, so the model can update itself
///   between reductions and hand the next one a new computation.
///
/// Multi-pass LSI is one reduction per pass, one-pass LSI one reduction, online LDA one
/// reduction per M-step. Within a reduction, states meet in a fixed tree over its chunks
/// (`MergeTree`), so results never depend on timing, threads or workers.
public protocol ChunkExecutor: Sendable {
    /// For logs: "in-process, 2 threads".
    var description: String { get }

    /// Runs `body` as one training session described by `description`.
    func session<Result: Sendable>(
        _ description: SessionDescription, _ body: (any TrainingSession) async throws -> Result
    ) async throws -> Result
}

/// One training run of an executor (see `ChunkExecutor`).
public protocol TrainingSession: Sendable {
    /// Reads `corpus` once, in chunks of `chunkSize` documents, for the reductions `body`
    /// makes. `progress` is called (from any thread) each time a job finishes.
    func pass<C: Corpus, Result: Sendable>(
        over corpus: C, chunkSize: Int, progress: (@Sendable (TrainingProgress) -> Void)?,
        _ body: (any TrainingPass) async throws -> Result
    ) async throws -> Result

    /// Whether every job runs in this process, so that the chunks of a pass share this
    /// machine's memory and cores: true for `InProcessExecutor`'s sessions, false on a
    /// cluster (and by default).
    var runsInProcess: Bool { get }
}

extension TrainingSession {
    public var runsInProcess: Bool { false }
}

/// One streamed read of a corpus (see `ChunkExecutor`).
public protocol TrainingPass: Sendable {
    /// Runs `computation` over the next `chunks` chunks of the pass (every chunk left when
    /// nil) and returns the merge of their partial states in the fixed tree; nil when the
    /// pass has no chunk left.
    func reduce<Computation: ChunkedComputation>(
        _ computation: Computation, nextChunks chunks: Int?
    ) async throws -> Computation.PartialState?

    /// `reduce(_:nextChunks:)`, told what the reduction after it will be (`FollowingReduction`):
    /// a cluster starts that reduction's stage as soon as this one's chunks are handed out, so
    /// its workers go on without waiting for the merged state to reach this process and the
    /// next stage to come back. The next call must then be `reduce` of the computation
    /// announced, over the chunks announced. Executors that run the reductions here ignore it.
    func reduce<Computation: ChunkedComputation>(
        _ computation: Computation, nextChunks chunks: Int?, followedBy next: FollowingReduction?
    ) async throws -> Computation.PartialState?

    /// Whether the reductions run in other processes, from their computations' encoding (a
    /// cluster). A model may then hand over a computation whose own copy of its parameters is
    /// still being computed, as long as its encoding does not need them (`LDATrainer` starts
    /// the next stage, sent as the M-step's inputs, while it makes the M-step itself).
    var runsElsewhere: Bool { get }

    /// Chunks of the pass its reductions have consumed (or skipped) so far, and whether it
    /// has reached the end of its corpus: what a checkpoint records of each reduction.
    var position: PassPosition { get }

    /// Moves past the next `chunks` chunks (to the end of the pass when nil) without running
    /// anything on them: a session resumed from a checkpoint (`CheckpointingExecutor`)
    /// replays the reductions it recorded instead of running them again.
    func skip(chunks: Int?) async throws
}

/// Where a pass stands (`TrainingPass.position`).
public struct PassPosition: Sendable, Equatable, Codable {
    /// Chunks consumed by reductions or skipped, from the start of the pass.
    public var chunks: Int
    /// Whether the pass found the end of its corpus.
    public var ended: Bool

    /// The start of a pass.
    public static var start: PassPosition { PassPosition(chunks: 0, ended: false) }

    /// Moves past the next `chunks` chunks, or to the end when nil; false (and no move)
    /// when the pass has ended already or `chunks` is 0: then there is nothing to skip.
    public mutating func skip(_ chunks: Int?) -> Bool {
        guard !ended, chunks != 0 else { return false }
        if let chunks { self.chunks += chunks } else { ended = true }
        return true
    }
}

extension TrainingPass {
    public var runsElsewhere: Bool { false }

    public func reduce<Computation: ChunkedComputation>(
        _ computation: Computation, nextChunks chunks: Int?, followedBy next: FollowingReduction?
    ) async throws -> Computation.PartialState? {
        try await reduce(computation, nextChunks: chunks)
    }
}

/// The reduction after the one being made, as far as a model knows it before that one ends:
/// its computation is the change (`IncrementalComputation`) from the one being made whose
/// bytes end with the merged state of the one being made, as encoded (LDA's next E-step is the
/// M-step on the statistics just merged). The dispatcher, which holds that state first,
/// appends it and starts the next stage at once.
public struct FollowingReduction: Sendable {
    /// The next reduction's chunks (every chunk left when nil), as its `reduce` will ask.
    public var chunks: Int?
    /// The change's bytes without the merged state at their end; called once every chunk of
    /// the reduction being made is handed out. Nil: the next computation is not known that
    /// way after all, and the next stage starts as usual.
    public var changeBeginning: @Sendable () async throws -> [UInt8]?

    public init(chunks: Int?, changeBeginning: @escaping @Sendable () async throws -> [UInt8]?) {
        self.chunks = chunks
        self.changeBeginning = changeBeginning
    }
}

extension TrainingSession {
    /// One pass over `corpus`, one reduction over all of it.
    public func run<Computation: ChunkedComputation, C: Corpus>(
        _ computation: Computation, over corpus: C, chunkSize: Int,
        progress: (@Sendable (TrainingProgress) -> Void)? = nil
    ) async throws -> Computation.PartialState? {
        try await pass(over: corpus, chunkSize: chunkSize, progress: progress) { pass in
            try await pass.reduce(computation, nextChunks: nil)
        }
    }
}

extension ChunkExecutor {
    /// A session of one pass and one reduction: `computation` over every chunk of `corpus`.
    public func run<Computation: ChunkedComputation, C: Corpus>(
        _ computation: Computation, over corpus: C, chunkSize: Int,
        progress: (@Sendable (TrainingProgress) -> Void)? = nil
    ) async throws -> Computation.PartialState? {
        try await session(SessionDescription(computation: computation.name)) { session in
            try await session.run(computation, over: corpus, chunkSize: chunkSize, progress: progress)
        }
    }
}

/// What a training session is, for executors that report it (a cluster's dispatcher logs
/// it): a model-agnostic kind, a line for people, and the model's encoded parameters.
public struct SessionDescription: Sendable, Equatable {
    /// The model family, e.g. "lsi"; a cluster's registry must know it.
    public var kind: String
    /// For logs: "LSI one-pass, 400 topics over 100000 terms, ...".
    public var summary: String
    /// The model's parameters in the portable encoding (for the record; jobs carry their own).
    public var parameters: [UInt8]

    public init(kind: String, summary: String, parameters: [UInt8] = []) {
        self.kind = kind
        self.summary = summary
        self.parameters = parameters
    }

    /// A computation run on its own, outside a model.
    public init(computation name: String) {
        self.init(kind: SessionDescription.standaloneKind, summary: name)
    }

    /// The kind of a session that runs a lone computation.
    public static let standaloneKind = "computation"
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
