import Foundation
import LatentCorpus
import LatentLinearAlgebra

/// Gamma(100, 1/100) variates for initial γ and the initial topics.
enum GammaVariates {
    /// A Gamma(`shape`, 1) variate, shape ≥ 1 (Marsaglia and Tsang 2000).
    static func next(shape: Double, using generator: inout SeededGenerator) -> Double {
        let d = shape - 1.0 / 3, c = 1 / (9 * d).squareRoot()
        while true {
            var x: Double, v: Double
            repeat {
                x = generator.nextGaussian()
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = generator.nextOpenUnit()
            if u < 1 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1 - v + log(v)) { return d * v }
        }
    }

    /// The generator of draw `draw` of stream `stream` under `seed`. Seeds of neighbouring
    /// draws are hashed apart first: xoshiro generators seeded with values that differ in a
    /// regular way start from related states, and their first outputs are correlated.
    static func generator(seed: UInt64, stream: UInt64, draw: Int) -> SeededGenerator {
        SeededGenerator(seed: mixed(mixed(seed ^ mixed(stream)) ^ mixed(UInt64(draw))))
    }

    /// SplitMix64's finaliser: a bijection of 64-bit values that scatters neighbours.
    static func mixed(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Streams of draws: the documents' initial γ, and the initial topics.
    static let documentStream: UInt64 = 1
    static let topicStream: UInt64 = 2
}

/// The parts of a model that the E-step of a document reads.
struct EStepModel<Scalar: LinearAlgebraScalar>: Sendable {
    /// exp E[ln β], topics x terms, a column per term.
    let expElogbeta: Matrix<Scalar>
    let alpha: [Scalar]
    let iterations: Int
    let gammaThreshold: Scalar

    var topics: Int { expElogbeta.rows }
    var termCount: Int { expElogbeta.columns }
}

/// The variational E-step of one document at a time (gensim's `LdaModel.inference` loop), with
/// scratch space reused from one document to the next.
///
/// With θ's parameter γ and the document's term ids and counts: phinorm = exp E[ln θ] ·
/// exp E[ln β_w] + ε for each term w; then up to `iterations` times γ = α + exp E[ln θ] ⊙
/// Σ_w (count_w / phinorm_w) exp E[ln β_w], until the mean |Δγ| is below the threshold.
/// The iterations run in one C kernel (`latent_lda_document_*`) over the document's columns
/// where they are, in the model's precision, with ψ and exp on vectors.
struct DocumentInference<Scalar: LinearAlgebraScalar> {
    let topics: Int
    /// γ, E[ln θ] and exp E[ln θ] of the last document run.
    var gamma: [Scalar]
    var elogtheta: [Scalar]
    var expElogtheta: [Scalar]
    /// count_w / phinorm_w for the last document's terms.
    var weights: [Scalar] = []
    private var lastGamma: [Scalar]
    private var counts: [Scalar] = []
    private var phinorm: [Scalar] = []
    /// The E-step kernel's scratch space.
    private var scratch: [Scalar] = []

    init(topics: Int) {
        self.topics = topics
        gamma = [Scalar](repeating: 0, count: topics)
        elogtheta = gamma
        expElogtheta = gamma
        lastGamma = gamma
    }

    /// Runs the E-step of a document from the initial γ in `gamma`; true when it converged.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    mutating func run(termIDs: ArraySlice<Int32>, counts documentCounts: ArraySlice<Double>,
                      model: EStepModel<Scalar>) -> Bool {
        let k = topics, n = termIDs.count
        let epsilon = Scalar.ulpOfOne
        if counts.count < max(n, 1) {
            counts = [Scalar](repeating: 0, count: max(n, 1))
            phinorm = counts
            weights = counts
        }
        let scratchSize = Kernels.ldaScratchSize(topics: k, terms: n)
        if scratch.count < scratchSize { scratch = [Scalar](repeating: 0, count: scratchSize + scratchSize / 2) }
        var converged = false
        model.expElogbeta.storage.withUnsafeBufferPointer { beta in
        model.alpha.withUnsafeBufferPointer { alpha in
        gamma.withUnsafeMutableBufferPointer { gamma in
        elogtheta.withUnsafeMutableBufferPointer { elogtheta in
        expElogtheta.withUnsafeMutableBufferPointer { expElogtheta in
        lastGamma.withUnsafeMutableBufferPointer { lastGamma in
        counts.withUnsafeMutableBufferPointer { counts in
        phinorm.withUnsafeMutableBufferPointer { phinorm in
        weights.withUnsafeMutableBufferPointer { weights in
        scratch.withUnsafeMutableBufferPointer { scratch in
        termIDs.withUnsafeBufferPointer { ids in
            for (j, count) in documentCounts.enumerated() { counts[j] = Scalar(count) }
            let run = Scalar.ldaDocument(
                k: k, n: n, matrix: beta.baseAddress!, ids: ids.baseAddress,
                counts: counts.baseAddress!, alpha: alpha.baseAddress!, iterations: model.iterations,
                threshold: model.gammaThreshold, epsilon: epsilon, gamma: gamma.baseAddress!,
                elogtheta: elogtheta.baseAddress!, expElogtheta: expElogtheta.baseAddress!, phinorm: phinorm.baseAddress!,
                weights: weights.baseAddress!, lastGamma: lastGamma.baseAddress!, scratch: scratch.baseAddress!)
            converged = run > 0
        }}}}}}}}}}}
        return converged
    }

    /// Asks the CPU to fetch the columns of exp E[ln β] that a document (the next one) reads.
    static func prefetch(termIDs: ArraySlice<Int32>, model: EStepModel<Scalar>) {
        termIDs.withUnsafeBufferPointer { ids in
            guard let ids = ids.baseAddress else { return }
            model.expElogbeta.storage.withUnsafeBufferPointer { beta in
                Scalar.prefetchColumns(k: model.topics, n: termIDs.count, matrix: beta.baseAddress!, ids: ids)
            }
        }
    }

    /// The document part of the variational bound for the last document run (gensim's
    /// `LdaModel.bound` for one document, before the subsample ratio), in Float64:
    /// Σ_w n_w ln Σ_k exp(E[ln θ_k] + E[ln β_kw]) + Σ_k (α_k − γ_k) E[ln θ_k]
    /// + Σ_k (ln Γ(γ_k) − ln Γ(α_k)) + ln Γ(Σα) − ln Γ(Σγ).
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    func documentBound(termIDs: ArraySlice<Int32>, counts: ArraySlice<Double>, elogbeta: Matrix<Scalar>,
                       alpha: [Scalar]) -> Double {
        let k = topics
        var score = 0.0
        elogbeta.storage.withUnsafeBufferPointer { elogbeta in
            for (term, count) in zip(termIDs, counts) {
                let from = Int(term) * k
                var largest = -Double.infinity
                for i in 0..<k { largest = Swift.max(largest, Double(elogtheta[i] + elogbeta[from + i])) }
                var sum = 0.0
                for i in 0..<k { sum += Foundation.exp(Double(elogtheta[i] + elogbeta[from + i]) - largest) }
                score += count * (Foundation.log(sum) + largest)
            }
        }
        var alphaSum = 0.0, gammaSum = 0.0
        for i in 0..<k {
            let a = Double(alpha[i]), g = Double(gamma[i])
            score += (a - g) * Double(elogtheta[i])
            score += SpecialFunctions.logGamma(g) - SpecialFunctions.logGamma(a)
            alphaSum += a
            gammaSum += g
        }
        return score + SpecialFunctions.logGamma(alphaSum) - SpecialFunctions.logGamma(gammaSum)
    }

    /// Sets `gamma` to the initial γ of document `document` (its number in the pass).
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    mutating func start(_ source: InitialGammas<Scalar>, document: Int) throws {
        switch source {
        case .seeded(let seed, let firstDraw):
            var generator = GammaVariates.generator(seed: seed, stream: GammaVariates.documentStream,
                                                    draw: firstDraw + document)
            for i in 0..<topics { gamma[i] = Scalar(GammaVariates.next(shape: 100, using: &generator) / 100) }
        case .replayed(let draws, let firstDocument):
            let column = document - firstDocument
            guard draws.rows == topics, column >= 0, column < draws.columns else {
                throw ModelError(code: .invalidInput, message:
                    "initial gammas: document \(document) needs draw \(column) of \(draws.columns) given, with \(topics) topics each")
            }
            for i in 0..<topics { gamma[i] = draws[i, column] }
        }
    }
}

/// The initial γ of the documents of one reduction or inference.
enum InitialGammas<Scalar: LinearAlgebraScalar>: Sendable, Equatable {
    /// Document d of the pass takes draw `firstDraw + d` of the seeded stream.
    case seeded(seed: UInt64, firstDraw: Int)
    /// Document d of the pass takes column d − `firstDocument` (topics x documents).
    case replayed(Matrix<Scalar>, firstDocument: Int)
}
