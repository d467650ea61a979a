import Foundation
import LatentCorpus
import LatentLinearAlgebra
import Logging

/// One call of gensim's `LdaModel.update`: its passes over a corpus of known size, each batch
/// an E-step reduction, M-steps after every `updateEvery` batches and at the end of a pass.
struct LDATrainer: Sendable {
    let settings: LDAParameters
    let termCount: Int
    /// The corpus's documents (gensim's `lencorpus`).
    let documents: Int
    let allowRealWeights: Bool
    let replay: LDAReplay?
    let logger: Logger?
    let progress: (@Sendable (LDAProgress) -> Void)?
    let onUpdate: (@Sendable (LDAModel.Storage) -> Void)?

    init(settings: LDAParameters, termCount: Int, documents: Int, allowRealWeights: Bool, replay: LDAReplay?,
         logger: Logger?, progress: (@Sendable (LDAProgress) -> Void)?, onUpdate: (@Sendable (LDAModel.Storage) -> Void)?) {
        self.onUpdate = onUpdate
        self.settings = settings
        self.termCount = termCount
        self.documents = documents
        self.allowRealWeights = allowRealWeights
        self.replay = replay
        self.logger = logger
        self.progress = progress
    }

    /// gensim's batch size for this corpus: `chunkSize`, or the corpus when smaller.
    var batchSize: Int { min(documents, settings.chunkSize) }

    /// Jobs per batch: the largest divisor of the batch size up to 16 that leaves jobs of at
    /// least 32 documents. It depends on the batch size alone, never on threads or workers.
    var jobsPerBatch: Int {
        (1...16).last { batchSize % $0 == 0 && batchSize / $0 >= 32 } ?? 1
    }

    var summary: String {
        "LDA, \(settings.topics) topics over \(termCount) terms, \(settings.precision.rawValue), seed \(settings.seed), "
            + "batches of \(batchSize) documents, \(settings.passes) passes, update every \(settings.updateEvery), "
            + "alpha \(settings.alpha.name), eta \(settings.eta.name)"
    }

    func rho(pass: Int, updates: Int) -> Double {
        pow(settings.offset + Double(pass) + Double(updates) / Double(batchSize), -settings.decay)
    }

    func train<Scalar: LinearAlgebraScalar, C: Corpus>(
        _ start: LDAState<Scalar>, _ corpus: C, session: any TrainingSession
    ) async throws -> LDAState<Scalar> {
        var state = start
        let k = settings.topics
        let passes = settings.passes
        let drawsBefore = state.draws
        var replayed: Matrix<Scalar>?
        if let gammas = replay?.gammas {
            let needed = drawsBefore + passes * documents
            guard gammas.rows == k, gammas.columns >= needed else {
                throw ModelError(code: .invalidParameter, message:
                    "replayed gammas: expected \(k) x at least \(needed) (topics x document E-steps), got \(gammas.rows) x \(gammas.columns)")
            }
            replayed = gammas.converted(to: Scalar.self)
        }
        state.documents += documents
        let updateEvery = settings.updateEvery
        let updateAfter = updateEvery > 0 ? min(documents, updateEvery * batchSize) : documents
        let evalAfter = min(documents, settings.evalEvery * batchSize)
        let kind = updateEvery > 0 ? "online (\(passes == 1 ? "single-pass" : "multi-pass"))" : "batch"
        logger?.info("running \(kind) LDA training, \(k) topics, \(passes) passes over the supplied corpus of \(documents) documents, updating model once every \(updateAfter) documents, evaluating perplexity every \(evalAfter) documents, iterating \(settings.iterations)x with a convergence threshold of \(settings.gammaThreshold)")
        if max(1, Double(documents) / Double(updateAfter)) * Double(passes) < 10 {
            logger?.warning("too few updates, training might not converge; consider increasing the number of passes or iterations to improve accuracy")
        }
        let jobSize = batchSize / jobsPerBatch
        var lastBound: Double?
        // The M-step since the last E-step: a cluster sends it instead of the topics.
        var lastMStep: LDAMStepInputs<Scalar>?
        // On a cluster, the M-step still running while the next stage goes out as its inputs.
        var running: PendingLDAState<Scalar>?
        for pass in 0..<passes {
            let firstDraw = drawsBefore + pass * documents
            var pending: LDAStatistics<Scalar>?
            var seen = 0
            (state, pending, seen, lastBound, lastMStep) = try await session.pass(over: corpus, chunkSize: jobSize, progress: nil) { run in
                var state = state, pending: LDAStatistics<Scalar>?, seen = 0, lastBound = lastBound, lastMStep = lastMStep
                var batch = 0
                while seen < documents {
                    let evaluate = settings.evalEvery > 0
                        && (min(documents, seen + batchSize) == documents || (batch + 1) % settings.evalEvery == 0)
                    let initial: InitialGammas<Scalar>
                    if let replayed {
                        let count = min(batchSize, documents - seen)
                        let columns = (firstDraw + seen)..<(firstDraw + seen + count)
                        initial = .replayed(replayed.submatrix(rows: 0..<k, columns: columns), firstDocument: seen)
                    } else {
                        initial = .seeded(seed: settings.seed, firstDraw: firstDraw)
                    }
                    let reduced: LDAStatistics<Scalar>?
                    if let pending = running, let mStep = lastMStep, !evaluate {
                        // The workers replay the M-step from its inputs while it runs here too.
                        let step = LDAEStep(pending: pending, mStep: mStep, alpha: state.alpha, iterations: settings.iterations,
                                            gammaThreshold: Scalar(settings.gammaThreshold), initialGammas: initial,
                                            allowRealWeights: allowRealWeights)
                        lastMStep = nil
                        reduced = try await run.reduce(step, nextChunks: jobsPerBatch,
                                                       followedBy: following(step, run: run, pass: pass, seen: seen, batch: batch))
                        state = await pending.resolved()
                        running = nil
                    } else {
                        if let pending = running {
                            state = await pending.resolved()
                            running = nil
                        }
                        // The step shares the state's matrices; it ends with this scope, before
                        // the M-step writes them, so that they are not copied.
                        let step = LDAEStep(
                            model: EStepModel(expElogbeta: state.expElogbeta, alpha: state.alpha,
                                              iterations: settings.iterations, gammaThreshold: Scalar(settings.gammaThreshold)),
                            initialGammas: initial, elogbeta: evaluate ? state.elogbeta : nil, allowRealWeights: allowRealWeights,
                            source: LDATopicsSource(state: state, mStep: lastMStep))
                        lastMStep = nil
                        reduced = try await run.reduce(step, nextChunks: jobsPerBatch,
                                                       followedBy: following(step, run: run, pass: pass, seen: seen, batch: batch))
                    }
                    guard let statistics = reduced else { break }
                    if evaluate, statistics.documents > 0, statistics.words > 0 {
                        let ratio = Double(documents) / Double(statistics.documents)
                        let bound = (statistics.documentBound * ratio + state.topicBound()) / (ratio * statistics.words)
                        lastBound = bound
                        logger?.info("\(String(format: "%.3f", bound)) per-word bound, \(String(format: "%.1f", Foundation.exp(-bound))) perplexity (e^-bound) estimate based on a held-out corpus of \(statistics.documents) documents with \(Int(statistics.words)) words")
                    }
                    seen += statistics.documents
                    logger?.info("PROGRESS: pass \(pass), at document #\(seen)/\(documents)")
                    logger?.debug("\(statistics.converged)/\(statistics.documents) documents converged within \(settings.iterations) iterations")
                    if settings.alpha.isAuto {
                        state.updateAlpha(batch: statistics, rho: rho(pass: pass, updates: state.updates), logger: logger)
                    }
                    pending = pending.map { LDAStatistics.merged($0, statistics, termCount: termCount) } ?? statistics
                    batch += 1
                    if updateEvery > 0, batch % updateEvery == 0, let batchStatistics = pending {
                        if run.runsElsewhere && seen < documents {
                            (running, lastMStep) = startMStep(state, batchStatistics, pass: pass)
                        } else {
                            lastMStep = mStep(&state, batchStatistics, pass: pass)
                        }
                        pending = nil
                    }
                    progress?(LDAProgress(documentsDone: seen, documentsTotal: documents, pass: pass + 1, passes: passes,
                                          perWordBound: lastBound))
                }
                if let pending = running {
                    state = await pending.resolved()
                    running = nil
                }
                return (state, pending, seen, lastBound, lastMStep)
            }
            guard seen == documents else {
                throw ModelError(code: .invalidInput, message:
                    "the corpus gave \(seen) documents in pass \(pass + 1), not the \(documents) it reported: it changed during training")
            }
            if let batchStatistics = pending { lastMStep = mStep(&state, batchStatistics, pass: pass) }
        }
        state.draws = drawsBefore + passes * documents
        return state
    }

    /// On a cluster, the next batch's E-step as far as it is known before this batch's
    /// statistics are merged (`FollowingReduction`): when every batch makes an M-step, alpha is
    /// not learned from the batch, and the next batch is in this pass and is not evaluated, the
    /// next step is the M-step on this batch's statistics alone and its change is known but
    /// for them. (With replayed γ draws it is not announced: they follow the documents merged.)
    private func following<Scalar: LinearAlgebraScalar>(
        _ step: LDAEStep<Scalar>, run: any TrainingPass, pass: Int, seen: Int, batch: Int
    ) -> FollowingReduction? {
        guard run.runsElsewhere, settings.updateEvery == 1, !settings.alpha.isAuto, let source = step.source,
              case .seeded = step.initialGammas else { return nil }
        let next = seen + min(batchSize, documents - seen)
        let evaluated = settings.evalEvery > 0
            && (min(documents, next + batchSize) == documents || (batch + 2) % settings.evalEvery == 0)
        guard next < documents, !evaluated else { return nil }
        return FollowingReduction(chunks: jobsPerBatch) { [self] in
            let before = await source.resolvedState()
            return step.followingChangeBeginning(initialGammas: step.initialGammas, before: before,
                                                 rho: rho(pass: pass, updates: before.updates), extraPass: pass > 0,
                                                 learnEta: settings.eta.isAuto)
        }
    }

    /// The M-step after a batch; returns what it took, for the E-steps' changes.
    private func mStep<Scalar: LinearAlgebraScalar>(
        _ state: inout LDAState<Scalar>, _ batch: LDAStatistics<Scalar>, pass: Int
    ) -> LDAMStepInputs<Scalar> {
        let inputs = mStepInputs(state, batch, pass: pass)
        apply(inputs, to: &state)
        return inputs
    }

    /// The M-step after a batch, started on a thread of its own: the state it will give, and
    /// what it takes (sent to a cluster's workers at once, so that they replay it while it
    /// runs here).
    private func startMStep<Scalar: LinearAlgebraScalar>(
        _ state: LDAState<Scalar>, _ batch: LDAStatistics<Scalar>, pass: Int
    ) -> (PendingLDAState<Scalar>, LDAMStepInputs<Scalar>) {
        let inputs = mStepInputs(state, batch, pass: pass)
        let pending = PendingLDAState<Scalar>(revision: state.revision + 1, termCount: state.termCount)
        let thread = Thread { [self] in
            // Background work: the workers replay this M-step on the critical path, and on a
            // machine they share with this process it must not take all the cores. All but
            // one, at nice 10: on a machine of its own it still ends well within the next
            // stage (whose workers replay it too before their E-steps), at whose end the
            // trainer first waits for it.
            ComputeThreads.lowerThisThreadsPriority()
            var next = state
            BLAS.limitingThisThread(to: ComputeThreads.cores - 1) { apply(inputs, to: &next, statisticsShared: true) }
            pending.resolve(next)
        }
        thread.stackSize = 8 << 20
        thread.start()
        return (pending, inputs)
    }

    private func mStepInputs<Scalar: LinearAlgebraScalar>(
        _ state: LDAState<Scalar>, _ batch: LDAStatistics<Scalar>, pass: Int
    ) -> LDAMStepInputs<Scalar> {
        LDAMStepInputs(rho: rho(pass: pass, updates: state.updates), batch: batch, extraPass: pass > 0, learnEta: settings.eta.isAuto,
                       documents: state.documents, updates: state.updates)
    }

    private func apply<Scalar: LinearAlgebraScalar>(_ inputs: LDAMStepInputs<Scalar>, to state: inout LDAState<Scalar>,
                                                    statisticsShared: Bool = false) {
        let change = state.mStep(rho: inputs.rho, batch: inputs.batch, extraPass: inputs.extraPass, learnEta: inputs.learnEta,
                                 logger: logger, statisticsShared: statisticsShared)
        logger?.info("topic diff=\(String(format: "%.6f", change)), rho=\(String(format: "%.6f", inputs.rho))")
        if let onUpdate, let storage = LDAModel.Storage(state) { onUpdate(storage) }
    }
}
