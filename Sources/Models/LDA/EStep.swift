import Foundation
import LatentCorpus
import LatentLinearAlgebra

/// The E-step of online LDA over a chunk of documents (gensim's `LdaModel.do_estep`): each
/// document's γ is fitted to the current topics, and what the chunk's sufficient statistics
/// are summed from is kept (`LDAStatistics`). One reduction of these is one batch of gensim's
/// (`chunksize` documents); the model's M-step follows, which sums them and multiplies them by
/// exp E[ln β].
///
/// Documents are independent and each draws its initial γ by its number, so the statistics
/// of a batch are the same however its documents are cut into jobs.
struct LDAEStep<Scalar: LinearAlgebraScalar>: ChunkedComputation {
    /// The topics the documents are fitted to: ready, or the result of an M-step still
    /// running (on a cluster the step travels as that M-step's inputs meanwhile).
    private let topicsModel: TopicsModel
    let initialGammas: InitialGammas<Scalar>
    /// E[ln β] when the chunk's bound is to be computed too (gensim's held-out estimate).
    let elogbeta: Matrix<Scalar>?
    /// Accept weights that are not whole numbers (a TF-IDF corpus), at the user's word.
    let allowRealWeights: Bool
    /// The model state the topics come from, in training: with it the step can travel to a
    /// cluster as the M-step since the step before (`IncrementalComputation`).
    let source: LDATopicsSource<Scalar>?

    private enum TopicsModel: Sendable {
        case ready(EStepModel<Scalar>)
        case pending(PendingLDAState<Scalar>, alpha: [Scalar], iterations: Int, gammaThreshold: Scalar)
    }

    init(model: EStepModel<Scalar>, initialGammas: InitialGammas<Scalar>, elogbeta: Matrix<Scalar>?,
         allowRealWeights: Bool, source: LDATopicsSource<Scalar>? = nil) {
        topicsModel = .ready(model)
        self.initialGammas = initialGammas
        self.elogbeta = elogbeta
        self.allowRealWeights = allowRealWeights
        self.source = source
    }

    /// A step on the topics of an M-step still running (`pending`), which `mStep` made: its
    /// encoding as a change needs only the M-step's inputs; its own E-steps, or its encoding
    /// whole, wait for the M-step.
    init(pending: PendingLDAState<Scalar>, mStep: LDAMStepInputs<Scalar>, alpha: [Scalar], iterations: Int,
         gammaThreshold: Scalar, initialGammas: InitialGammas<Scalar>, allowRealWeights: Bool) {
        topicsModel = .pending(pending, alpha: alpha, iterations: iterations, gammaThreshold: gammaThreshold)
        self.initialGammas = initialGammas
        elogbeta = nil
        self.allowRealWeights = allowRealWeights
        source = LDATopicsSource(pending: pending, mStep: mStep)
    }

    /// The E-step's model (waits for a pending M-step).
    var model: EStepModel<Scalar> {
        switch topicsModel {
        case .ready(let model): model
        case .pending(let pending, let alpha, let iterations, let gammaThreshold):
            EStepModel(expElogbeta: pending.state.expElogbeta, alpha: alpha, iterations: iterations, gammaThreshold: gammaThreshold)
        }
    }

    var alpha: [Scalar] {
        switch topicsModel {
        case .ready(let model): model.alpha
        case .pending(_, let alpha, _, _): alpha
        }
    }

    var iterations: Int {
        switch topicsModel {
        case .ready(let model): model.iterations
        case .pending(_, _, let iterations, _): iterations
        }
    }

    var gammaThreshold: Scalar {
        switch topicsModel {
        case .ready(let model): model.gammaThreshold
        case .pending(_, _, _, let gammaThreshold): gammaThreshold
        }
    }

    var name: String { "LDA E-step" }
    var topics: Int { alpha.count }
    var termCount: Int {
        switch topicsModel {
        case .ready(let model): model.termCount
        case .pending(let pending, _, _, _): pending.termCount
        }
    }

    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    func process(_ chunk: SparseChunk, index: Int) throws -> LDAStatistics<Scalar> {
        let model = self.model
        let k = topics
        try LDAInput.check(chunk, termCount: termCount, allowRealWeights: allowRealWeights)
        var inference = DocumentInference<Scalar>(topics: k)
        var state = LDAStatistics<Scalar>(topics: k)
        state.documents = chunk.documentCount
        state.termIDs.reserveCapacity(chunk.termIDs.count)
        state.weights.reserveCapacity(chunk.termIDs.count)
        state.termStarts.reserveCapacity(chunk.documentCount + 1)
        state.thetas.reserveCapacity(chunk.documentCount * k)
        for d in 0..<chunk.documentCount {
            let range = chunk.columnStarts[d]..<chunk.columnStarts[d + 1]
            let ids = chunk.termIDs[range], counts = chunk.weights[range]
            try inference.start(initialGammas, document: chunk.firstDocument + d)
            if d + 1 < chunk.documentCount {
                DocumentInference.prefetch(termIDs: chunk.termIDs[chunk.columnStarts[d + 1]..<chunk.columnStarts[d + 2]],
                                           model: model)
            }
            if inference.run(termIDs: ids, counts: counts, model: model) { state.converged += 1 }
            inference.weights.withUnsafeBufferPointer { weights in
                inference.expElogtheta.withUnsafeBufferPointer { theta in
                    state.append(termIDs: ids, weights: UnsafeBufferPointer(rebasing: weights.prefix(ids.count)), theta: theta)
                }
            }
            for i in 0..<k { state.logThetaSum[i] += Double(inference.elogtheta[i]) }
            for count in counts { state.words += count }
            if let elogbeta {
                state.documentBound += inference.documentBound(termIDs: ids, counts: counts, elogbeta: elogbeta,
                                                               alpha: model.alpha)
            }
        }
        return state
    }

    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    func merge(_ earlier: LDAStatistics<Scalar>, _ later: LDAStatistics<Scalar>) throws -> LDAStatistics<Scalar> {
        LDAStatistics.merged(earlier, later, termCount: termCount)
    }
}

/// The state an E-step's topics were computed from, and the M-step that made it of the state
/// of the E-step before (nil when the batches between made none). A process that holds the
/// earlier step replays that M-step and has the same topics, bit for bit.
struct LDATopicsSource<Scalar: LinearAlgebraScalar>: Sendable {
    private let held: Held
    let mStep: LDAMStepInputs<Scalar>?

    private enum Held: Sendable {
        case state(LDAState<Scalar>)
        case pending(PendingLDAState<Scalar>)
    }

    init(state: LDAState<Scalar>, mStep: LDAMStepInputs<Scalar>?) {
        held = .state(state)
        self.mStep = mStep
    }

    init(pending: PendingLDAState<Scalar>, mStep: LDAMStepInputs<Scalar>?) {
        held = .pending(pending)
        self.mStep = mStep
    }

    /// The state (waits for a pending M-step).
    var state: LDAState<Scalar> {
        switch held {
        case .state(let state): state
        case .pending(let pending): pending.state
        }
    }

    /// The state, once a pending M-step has ended.
    func resolvedState() async -> LDAState<Scalar> {
        switch held {
        case .state(let state): state
        case .pending(let pending): await pending.resolved()
        }
    }

    /// The state's revision, known before a pending M-step ends.
    var revision: Int {
        switch held {
        case .state(let state): state.revision
        case .pending(let pending): pending.revision
        }
    }
}

/// The state an M-step running on another thread will give: known by its revision and shape
/// at once, its value when the M-step ends (`state` waits for it; `resolved()` awaits it).
final class PendingLDAState<Scalar: LinearAlgebraScalar>: @unchecked Sendable {
    let revision: Int
    let termCount: Int
    // `value` and `waiters` are guarded by `condition`.
    private let condition = NSCondition()
    private var value: LDAState<Scalar>?
    private var waiters: [CheckedContinuation<LDAState<Scalar>, Never>] = []

    init(revision: Int, termCount: Int) {
        self.revision = revision
        self.termCount = termCount
    }

    func resolve(_ state: LDAState<Scalar>) {
        condition.lock()
        value = state
        let waiting = waiters
        waiters = []
        condition.broadcast()
        condition.unlock()
        for waiter in waiting { waiter.resume(returning: state) }
    }

    var state: LDAState<Scalar> {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let value { return value }
            condition.wait()
        }
    }

    func resolved() async -> LDAState<Scalar> {
        await withCheckedContinuation { continuation in
            condition.lock()
            if let value {
                condition.unlock()
                continuation.resume(returning: value)
            } else {
                waiters.append(continuation)
                condition.unlock()
            }
        }
    }
}

/// What one M-step takes besides the state (`LDAState.mStep`), with the state's counts before it.
struct LDAMStepInputs<Scalar: LinearAlgebraScalar>: Sendable {
    var rho: Double
    var batch: LDAStatistics<Scalar>
    var extraPass: Bool
    var learnEta: Bool
    /// The state's documents and updates before the M-step.
    var documents: Int
    var updates: Int
}

/// What LDA accepts as input: counts.
enum LDAInput {
    /// Throws unless every term id is below `termCount` and every weight is a finite,
    /// non-negative count (a whole number unless `allowRealWeights`).
    static func check(_ chunk: SparseChunk, termCount: Int, allowRealWeights: Bool) throws {
        for d in 0..<chunk.documentCount {
            for entry in chunk.columnStarts[d]..<chunk.columnStarts[d + 1] {
                let term = chunk.termIDs[entry], weight = chunk.weights[entry]
                var document: String { "document #\(chunk.firstDocument + d)" }
                guard Int(term) < termCount else {
                    throw ModelError(code: .invalidInput, message:
                        "\(document): term id \(term) is outside the model's \(termCount) terms (ids 0 to \(termCount - 1))")
                }
                guard weight.isFinite, weight >= 0 else {
                    throw ModelError(code: .invalidInput, message:
                        "\(document): term id \(term) has weight \(weight); LDA needs non-negative counts")
                }
                guard allowRealWeights || weight.rounded() == weight else {
                    throw ModelError(code: .invalidInput, message:
                        "\(document): term id \(term) has weight \(weight), not a whole number; LDA models word counts "
                        + "(a bag-of-words corpus, not TF-IDF); allow real weights to train on it anyway")
                }
            }
        }
    }
}
