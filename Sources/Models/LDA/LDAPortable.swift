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
        writer.write(model.iterations)
        writer.write(Double(model.gammaThreshold))
        writer.write(allowRealWeights ? 1 : 0)
        writer.write(array: model.alpha)
        writer.write(model.expElogbeta)
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
        writer.write(elogbeta == nil ? 0 : 1)
        if let elogbeta { writer.write(elogbeta) }
    }

    // Specialised: the checks below scan every value of the topics, and generic code would
    // box each one (seconds per stage on a dispatcher).
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    init(parameters reader: inout PortableReader) throws {
        let iterations = try reader.readInt("iterations", in: 1...1_000_000)
        let threshold = try reader.readDouble("gamma threshold")
        guard threshold >= 0 else { throw reader.error("gamma threshold", "a value of at least 0, got \(threshold)") }
        allowRealWeights = try reader.readInt("real weights flag", in: 0...1) == 1
        let alpha: [Scalar] = try reader.readArray("alpha", maxCount: maxTopics)
        guard !alpha.isEmpty, alpha.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw reader.error("alpha", "at least one positive finite value")
        }
        let k = alpha.count
        let beta: Matrix<Scalar> = try reader.readMatrix("exp E[ln beta]", maxRows: maxTopics, maxColumns: maxTerms)
        guard beta.rows == k, beta.columns >= 1 else {
            throw reader.error("exp E[ln beta]", "\(k) rows (one per topic) and at least one term, got \(beta.rows) x \(beta.columns)")
        }
        if let bad = beta.storage.firstIndex(where: { $0 < 0 }) {
            throw reader.error("exp E[ln beta]", "non-negative values, found \(beta.storage[bad])")
        }
        model = EStepModel(expElogbeta: beta, alpha: alpha, iterations: iterations, gammaThreshold: Scalar(threshold))
        switch try reader.readInt("initial gammas", in: 0...1) {
        case 0:
            initialGammas = .seeded(seed: try reader.readUInt64("seed"),
                                    firstDraw: try reader.readInt("first draw", in: 0...Int(Int64.max / 4)))
        default:
            let first = try reader.readInt("first document", in: 0...Int(Int64.max / 4))
            let draws: Matrix<Scalar> = try reader.readMatrix("initial gammas", maxRows: maxTopics, maxColumns: maxTerms)
            guard draws.rows == k, draws.storage.allSatisfy({ $0 > 0 }) else {
                throw reader.error("initial gammas", "\(k) rows of positive values")
            }
            initialGammas = .replayed(draws, firstDocument: first)
        }
        if try reader.readInt("bound flag", in: 0...1) == 1 {
            let elogbeta: Matrix<Scalar> = try reader.readMatrix("E[ln beta]", maxRows: maxTopics, maxColumns: maxTerms)
            guard elogbeta.rows == k, elogbeta.columns == beta.columns else {
                throw reader.error("E[ln beta]", "\(k) x \(beta.columns), got \(elogbeta.rows) x \(elogbeta.columns)")
            }
            self.elogbeta = elogbeta
        } else {
            elogbeta = nil
        }
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

extension LDAModel {
    /// Adds LDA's computations to `registry` (both precisions).
    public static func registerComputations(in registry: inout ComputationRegistry) {
        registry.register(LDAEStep<Double>.self)
        registry.register(LDAEStep<Float>.self)
    }
}
