import LatentLinearAlgebra

// The portable encoding of LDA's E-step (see `PortableComputation`): how its jobs run on a
// cluster's workers. Decoders check every bound and value, so a hostile payload gets an
// error naming its field rather than a crash or an absurd allocation.

private let maxTerms = Int(Int32.max)
private let maxTopics = 100_000

extension LDAEStep: PortableComputation {
    static var kind: String { "lda.e-step.\(Scalar.self == Float.self ? "float32" : "float64")" }
    var termBound: Int { termCount }

    func encodeParameters(into writer: inout PortableWriter) {
        encodeSettings(into: &writer)
        if let state = source?.state {
            // The state itself, so that later steps can come as changes of it; E[ln β] is
            // computed from λ on the other side.
            writer.write(1)
            writer.write(state.sstats)
            writer.write(array: state.eta)
            writer.write(state.etaPerTopic ? 1 : 0)
            writer.write(state.documents)
            writer.write(state.updates)
            writer.write(state.revision)
            writer.write(state.expElogbeta)
        } else {
            writer.write(0)
            writer.write(model.expElogbeta)
            if let elogbeta { writer.write(elogbeta) }
        }
    }

    /// What every encoding writes, whole or as a change: the E-step's settings, α, the
    /// initial γ and whether the bound is computed.
    private func encodeSettings(into writer: inout PortableWriter) {
        encodeSettings(initialGammas: initialGammas, bound: elogbeta != nil, into: &writer)
    }

    /// The settings of a step with this one's but for its initial γ and its bound flag.
    private func encodeSettings(initialGammas: InitialGammas<Scalar>, bound: Bool, into writer: inout PortableWriter) {
        writer.write(iterations)
        writer.write(Double(gammaThreshold))
        writer.write(allowRealWeights ? 1 : 0)
        writer.write(array: alpha)
        switch initialGammas {
        case .seeded(let seed, let firstDraw):
            writer.write(0)
            writer.write(seed)
            writer.write(firstDraw)
        case .replayed(let draws, let firstDocument):
            writer.write(1)
            writer.write(firstDocument)
            writer.write(draws)
        }
        writer.write(bound ? 1 : 0)
    }

    private struct Settings {
        var iterations: Int
        var threshold: Scalar
        var allowRealWeights: Bool
        var alpha: [Scalar]
        var initialGammas: InitialGammas<Scalar>
        var bound: Bool
    }

    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    private static func decodeSettings(_ reader: inout PortableReader) throws -> Settings {
        let iterations = try reader.readInt("iterations", in: 1...1_000_000)
        let threshold = try reader.readDouble("gamma threshold")
        guard threshold >= 0 else { throw reader.error("gamma threshold", "a value of at least 0, got \(threshold)") }
        let allowRealWeights = try reader.readInt("real weights flag", in: 0...1) == 1
        let alpha: [Scalar] = try reader.readArray("alpha", maxCount: maxTopics)
        guard !alpha.isEmpty, alpha.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw reader.error("alpha", "at least one positive finite value")
        }
        let initialGammas: InitialGammas<Scalar>
        switch try reader.readInt("initial gammas", in: 0...1) {
        case 0:
            initialGammas = .seeded(seed: try reader.readUInt64("seed"),
                                    firstDraw: try reader.readInt("first draw", in: 0...Int(Int64.max / 4)))
        default:
            let first = try reader.readInt("first document", in: 0...Int(Int64.max / 4))
            let draws: Matrix<Scalar> = try reader.readMatrix("initial gammas", maxRows: maxTopics, maxColumns: maxTerms)
            guard draws.rows == alpha.count, draws.storage.allSatisfy({ $0 > 0 }) else {
                throw reader.error("initial gammas", "\(alpha.count) rows of positive values")
            }
            initialGammas = .replayed(draws, firstDocument: first)
        }
        let bound = try reader.readInt("bound flag", in: 0...1) == 1
        return Settings(iterations: iterations, threshold: Scalar(threshold), allowRealWeights: allowRealWeights,
                        alpha: alpha, initialGammas: initialGammas, bound: bound)
    }

    private init(_ settings: Settings, state: LDAState<Scalar>) {
        var state = state
        state.alpha = settings.alpha
        self.init(model: EStepModel(expElogbeta: state.expElogbeta, alpha: settings.alpha, iterations: settings.iterations,
                                    gammaThreshold: settings.threshold),
                  initialGammas: settings.initialGammas, elogbeta: settings.bound ? state.elogbeta : nil,
                  allowRealWeights: settings.allowRealWeights, source: LDATopicsSource(state: state, mStep: nil))
    }

    // Specialised: the checks below scan every value of the topics, and generic code would
    // box each one (seconds per stage on a dispatcher).
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    init(parameters reader: inout PortableReader) throws {
        let settings = try Self.decodeSettings(&reader)
        let k = settings.alpha.count
        let withState = try reader.readInt("state flag", in: 0...1) == 1
        if withState {
            let sstats: Matrix<Scalar> = try reader.readMatrix("statistics", maxRows: maxTopics, maxColumns: maxTerms)
            guard sstats.rows == k, sstats.columns >= 1 else {
                throw reader.error("statistics", "\(k) rows (one per topic) and at least one term, got \(sstats.rows) x \(sstats.columns)")
            }
            // Not checked for sign: a loaded model's λ − η can round below 0.
            if let bad = sstats.storage.firstIndex(where: { !$0.isFinite }) {
                throw reader.error("statistics", "finite values, found \(sstats.storage[bad])")
            }
            let eta: [Scalar] = try reader.readArray("eta", maxCount: sstats.storage.count)
            let etaPerTopic = try reader.readInt("eta per topic flag", in: 0...1) == 1
            guard eta.count == (etaPerTopic ? sstats.storage.count : sstats.columns), eta.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                throw reader.error("eta", "\(etaPerTopic ? sstats.storage.count : sstats.columns) positive finite values")
            }
            let documents = try reader.readInt("documents", in: 0...Int(Int64.max / 4))
            let updates = try reader.readInt("updates", in: 0...Int(Int64.max / 4))
            let revision = try reader.readInt("revision", in: 0...Int(Int64.max / 4))
            let beta: Matrix<Scalar> = try reader.readMatrix("exp E[ln beta]", maxRows: maxTopics, maxColumns: maxTerms)
            guard beta.rows == k, beta.columns == sstats.columns else {
                throw reader.error("exp E[ln beta]", "\(k) x \(sstats.columns), got \(beta.rows) x \(beta.columns)")
            }
            if let bad = beta.storage.firstIndex(where: { !($0 >= 0) }) {
                throw reader.error("exp E[ln beta]", "non-negative values, found \(beta.storage[bad])")
            }
            self.init(settings, state: LDAState(sstats: sstats, eta: eta, etaPerTopic: etaPerTopic, alpha: settings.alpha,
                                                expElogbeta: beta, documents: documents, updates: updates, revision: revision))
            return
        }
        let beta: Matrix<Scalar> = try reader.readMatrix("exp E[ln beta]", maxRows: maxTopics, maxColumns: maxTerms)
        guard beta.rows == k, beta.columns >= 1 else {
            throw reader.error("exp E[ln beta]", "\(k) rows (one per topic) and at least one term, got \(beta.rows) x \(beta.columns)")
        }
        if let bad = beta.storage.firstIndex(where: { $0 < 0 }) {
            throw reader.error("exp E[ln beta]", "non-negative values, found \(beta.storage[bad])")
        }
        var elogbeta: Matrix<Scalar>?
        if settings.bound {
            let values: Matrix<Scalar> = try reader.readMatrix("E[ln beta]", maxRows: maxTopics, maxColumns: maxTerms)
            guard values.rows == k, values.columns == beta.columns else {
                throw reader.error("E[ln beta]", "\(k) x \(beta.columns), got \(values.rows) x \(values.columns)")
            }
            elogbeta = values
        }
        self.init(model: EStepModel(expElogbeta: beta, alpha: settings.alpha, iterations: settings.iterations,
                                    gammaThreshold: settings.threshold),
                  initialGammas: settings.initialGammas, elogbeta: elogbeta, allowRealWeights: settings.allowRealWeights)
    }

    func encode(_ state: LDAStatistics<Scalar>, into writer: inout PortableWriter) {
        writer.write(state.documents)
        writer.write(state.converged)
        writer.write(state.words)
        writer.write(state.documentBound)
        writer.write(array: state.logThetaSum)
        if let sums = state.sums {
            writer.write(1)
            writer.write(sums)
        } else {
            writer.write(0)
            writer.write(array: state.termStarts.map { Int64($0) })
            writer.write(array: state.termIDs)
            writer.write(array: state.weights)
            writer.write(array: state.thetas)
        }
    }

    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    func decodeState(_ reader: inout PortableReader) throws -> LDAStatistics<Scalar> {
        var state = LDAStatistics<Scalar>(topics: topics)
        state.documents = try reader.readInt("documents", in: 0...Int(Int64.max / 4))
        state.converged = try reader.readInt("converged", in: 0...state.documents)
        state.words = try reader.readDouble("words")
        state.documentBound = try reader.readDouble("document bound")
        let logTheta: [Double] = try reader.readArray("sum of E[ln theta]", maxCount: maxTopics)
        guard logTheta.count == topics, logTheta.allSatisfy({ $0.isFinite && $0 <= 0 }) else {
            throw reader.error("sum of E[ln theta]", "\(topics) finite values of at most 0")
        }
        state.logThetaSum = logTheta
        if try reader.readInt("summed flag", in: 0...1) == 1 {
            let sums: Matrix<Scalar> = try reader.readMatrix("statistics", maxRows: maxTopics, maxColumns: maxTerms)
            guard sums.rows == topics, sums.columns == termCount else {
                throw reader.error("statistics", "\(topics) x \(termCount), got \(sums.rows) x \(sums.columns)")
            }
            if let bad = sums.storage.firstIndex(where: { !($0 >= 0) || !$0.isFinite }) {
                throw reader.error("statistics", "finite non-negative values, found \(sums.storage[bad])")
            }
            state.sums = sums
            return state
        }
        let starts: [Int64] = try reader.readArray("document starts", maxCount: state.documents + 1)
        let ids: [Int32] = try reader.readArray("term ids", maxCount: Int(Int32.max))
        guard starts.count == state.documents + 1, starts.first == 0, starts.last == Int64(ids.count),
              zip(starts, starts.dropFirst()).allSatisfy({ $0 <= $1 }) else {
            throw reader.error("document starts", "\(state.documents + 1) ascending offsets from 0 to \(ids.count)")
        }
        if let bad = ids.first(where: { $0 < 0 || Int($0) >= termCount }) {
            throw reader.error("term ids", "ids below \(termCount), found \(bad)")
        }
        let weights: [Scalar] = try reader.readArray("weights", maxCount: ids.count)
        guard weights.count == ids.count, weights.allSatisfy({ $0 >= 0 && $0.isFinite }) else {
            throw reader.error("weights", "\(ids.count) finite non-negative values")
        }
        let (thetaCount, overflow) = state.documents.multipliedReportingOverflow(by: topics)
        let thetas: [Scalar] = try reader.readArray("exp E[ln theta]", maxCount: overflow ? 0 : thetaCount)
        guard !overflow, thetas.count == thetaCount, thetas.allSatisfy({ $0 >= 0 && $0.isFinite }) else {
            throw reader.error("exp E[ln theta]", "\(state.documents) x \(topics) finite non-negative values")
        }
        state.termStarts = starts.map { Int($0) }
        state.termIDs = ids
        state.weights = weights
        state.thetas = thetas
        return state
    }
}

// In training, a step after the first travels as the M-step since the step before: the
// batch's statistics as the documents' factors (a few hundred values per document) instead of
// the topics, and every process replays the M-step.
extension LDAEStep: IncrementalComputation {
    func encodeChange(from previous: LDAEStep<Scalar>, into writer: inout PortableWriter) -> Bool {
        guard let source, let before = previous.source?.state, before.topics == topics, before.termCount == termCount,
              before.revision == source.revision - (source.mStep == nil ? 0 : 1) else { return false }
        encodeSettings(into: &writer)
        writer.write(before.revision)
        if let step = source.mStep {
            Self.encodeMStep(rho: step.rho, extraPass: step.extraPass, learnEta: step.learnEta, documents: step.documents,
                             updates: step.updates, into: &writer)
            encode(step.batch, into: &writer)
        } else {
            writer.write(0)
        }
        return true
    }

    /// An M-step's inputs but its batch, after the flag that says there is one.
    private static func encodeMStep(rho: Double, extraPass: Bool, learnEta: Bool, documents: Int, updates: Int,
                                    into writer: inout PortableWriter) {
        writer.write(1)
        writer.write(rho)
        writer.write(extraPass ? 1 : 0)
        writer.write(learnEta ? 1 : 0)
        writer.write(documents)
        writer.write(updates)
    }

    /// The change from this step to the next, made after this step's reduction by the M-step
    /// on its merged statistics, without those statistics (`FollowingReduction`): the next step
    /// has this one's settings but `initialGammas` and no bound, and `before` is this step's
    /// state (the M-step's rho, documents and updates come from it).
    func followingChangeBeginning(initialGammas next: InitialGammas<Scalar>, before: LDAState<Scalar>, rho: Double,
                                  extraPass: Bool, learnEta: Bool) -> [UInt8] {
        var writer = PortableWriter()
        encodeSettings(initialGammas: next, bound: false, into: &writer)
        writer.write(before.revision)
        Self.encodeMStep(rho: rho, extraPass: extraPass, learnEta: learnEta, documents: before.documents,
                         updates: before.updates, into: &writer)
        return writer.bytes
    }

    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    init(change reader: inout PortableReader, from previous: LDAEStep<Scalar>) throws {
        let settings = try Self.decodeSettings(&reader)
        guard settings.alpha.count == previous.topics else {
            throw reader.error("alpha", "\(previous.topics) values (one per topic), got \(settings.alpha.count)")
        }
        guard var state = previous.source?.state else {
            throw reader.error("change", "a step that carries its state, not the topics alone")
        }
        let revision = try reader.readInt("revision", in: 0...Int(Int64.max / 4))
        guard revision == state.revision else {
            throw reader.error("revision", "the revision held, \(state.revision), got \(revision)")
        }
        if try reader.readInt("M-step flag", in: 0...1) == 1 {
            let rho = try reader.readDouble("rho")
            guard rho > 0 else { throw reader.error("rho", "a positive value, got \(rho)") }
            let extraPass = try reader.readInt("extra pass flag", in: 0...1) == 1
            let learnEta = try reader.readInt("learn eta flag", in: 0...1) == 1
            state.documents = try reader.readInt("documents", in: 0...Int(Int64.max / 4))
            state.updates = try reader.readInt("updates", in: 0...Int(Int64.max / 4))
            let batch = try previous.decodeState(&reader)
            _ = state.mStep(rho: rho, batch: batch, extraPass: extraPass, learnEta: learnEta, logger: nil,
                            measuringChange: false, statisticsShared: true)
        }
        self.init(settings, state: state)
    }
}

extension LDAModel {
    /// Adds LDA's computations to `registry` (both precisions).
    public static func registerComputations(in registry: inout ComputationRegistry) {
        registry.register(LDAEStep<Double>.self)
        registry.register(LDAEStep<Float>.self)
    }
}
