import Foundation
import LatentLinearAlgebra
import Logging

/// The variational parameters of an LDA model in its precision, and the M-step that
/// updates them (gensim's `LdaState` with the parts of `LdaModel` that change in training).
///
/// Matrices are topics x terms with a column per term (a term's topics are contiguous, which
/// is what a document's E-step reads): λ = η + sstats.
struct LDAState<Scalar: LinearAlgebraScalar>: Sendable {
    var sstats: Matrix<Scalar>
    /// η: one value per term (`etaPerTopic` false) or topics x terms in the matrices' layout.
    var eta: [Scalar]
    let etaPerTopic: Bool
    var alpha: [Scalar]
    /// E[ln β] of λ, and exp E[ln β] as the E-step reads it.
    var elogbeta: Matrix<Scalar>
    var expElogbeta: Matrix<Scalar>
    /// gensim's `state.numdocs`: the documents of every corpus trained on, the size the
    /// statistics of a batch are scaled to.
    var documents: Int
    /// gensim's `num_updates`: documents folded in by M-steps of first passes; sets ρ.
    var updates: Int
    /// Initial γ drawn so far: the next E-step's documents take the draws after them.
    var draws: Int
    /// M-steps made since this state was made or loaded: tells which state a change of an
    /// E-step's topics applies to (`LDATopicsSource`).
    var revision = 0

    var topics: Int { sstats.rows }
    var termCount: Int { sstats.columns }

    /// A new model: sstats drawn from Gamma(100, 1/100) (or given), and gensim's first
    /// exp E[ln β], taken from sstats alone.
    init(topics: Int, termCount: Int, alpha: [Double], eta: [Double], etaPerTopic: Bool, seed: UInt64,
         initialStatistics: Matrix<Double>?) {
        var sstats = Matrix<Scalar>(rows: topics, columns: termCount)
        if let given = initialStatistics {
            for w in 0..<termCount { for k in 0..<topics { sstats.storage[k + w * topics] = Scalar(given[k, w]) } }
        } else {
            var generator = GammaVariates.generator(seed: seed, stream: GammaVariates.topicStream, draw: 0)
            for index in sstats.storage.indices {
                sstats.storage[index] = Scalar(GammaVariates.next(shape: 100, using: &generator) / 100)
            }
        }
        self.sstats = sstats
        self.alpha = alpha.map { Scalar($0) }
        self.eta = (etaPerTopic ? Matrix(rows: topics, columns: termCount, rowMajor: eta).storage : eta).map { Scalar($0) }
        self.etaPerTopic = etaPerTopic
        documents = 0
        updates = 0
        draws = 0
        elogbeta = Self.dirichletExpectation(of: sstats)
        expElogbeta = Self.exponential(of: elogbeta)
        // The E-step starts from E[ln β] of sstats, as gensim's does; the bound and the first
        // M-step's topic change use λ's.
        elogbeta = Self.dirichletExpectation(of: lambda)
    }

    /// A loaded model: λ, α and η as saved.
    init(lambda: Matrix<Scalar>, alpha: [Scalar], eta: [Scalar], etaPerTopic: Bool, documents: Int, updates: Int, draws: Int) {
        self.alpha = alpha
        self.eta = eta
        self.etaPerTopic = etaPerTopic
        self.documents = documents
        self.updates = updates
        self.draws = draws
        // sstats = λ − η; then E[ln β] and exp E[ln β] of η + sstats, as after an M-step.
        let sstats = Self.adding(eta, perTopic: etaPerTopic, to: lambda, sign: -1)
        self.sstats = sstats
        elogbeta = Self.dirichletExpectation(of: Self.adding(eta, perTopic: etaPerTopic, to: sstats))
        expElogbeta = Self.exponential(of: elogbeta)
    }

    /// A state as an E-step's parameters carry it (`LDAPortable`): E[ln β] is computed from
    /// λ, as every M-step and load leaves it.
    init(sstats: Matrix<Scalar>, eta: [Scalar], etaPerTopic: Bool, alpha: [Scalar], expElogbeta: Matrix<Scalar>,
         documents: Int, updates: Int, revision: Int) {
        self.sstats = sstats
        self.eta = eta
        self.etaPerTopic = etaPerTopic
        self.alpha = alpha
        self.expElogbeta = expElogbeta
        self.documents = documents
        self.updates = updates
        self.draws = 0
        self.revision = revision
        elogbeta = Self.dirichletExpectation(of: Self.adding(eta, perTopic: etaPerTopic, to: sstats))
    }

    /// η of topic `k` and term `w`.
    @inline(__always)
    func eta(_ k: Int, _ w: Int) -> Scalar { etaPerTopic ? eta[k + w * topics] : eta[w] }

    /// λ = η + sstats.
    var lambda: Matrix<Scalar> { Self.adding(eta, perTopic: etaPerTopic, to: sstats) }

    /// `matrix` + `sign` η, for η per term (`perTopic` false) or per topic and term.
    private static func adding(_ eta: [Scalar], perTopic: Bool, to matrix: Matrix<Scalar>, sign: Scalar = 1) -> Matrix<Scalar> {
        var result = matrix
        let k = matrix.rows
        result.storage.withUnsafeMutableBufferPointer { values in
        eta.withUnsafeBufferPointer { eta in
            let to = values.baseAddress!, from = eta.baseAddress!
            byBlocks(columns: matrix.columns) { _, range in
                for w in range {
                    for i in 0..<k { to[i + w * k] += sign * (perTopic ? from[i + w * k] : from[w]) }
                }
            }
        }}
        return result
    }

    /// E[ln β] and exp E[ln β] from the current λ (gensim's `sync_state`); with `measuring`,
    /// also the mean |Δ E[ln β]| from the E[ln β] before.
    ///
    /// The same values as `dirichletExpectation(of: lambda)` and its exponential, in two
    /// passes by blocks of columns on every core: the topics' sums of λ, then per block λ, ψ,
    /// the change and exp while the block is in cache, into fresh matrices (the old ones may
    /// still be read elsewhere: an E-step's parameters on a cluster).
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    @discardableResult
    mutating func syncTopics(measuring: Bool = false) -> Double {
        let k = topics, v = termCount
        let blocks = Self.blockCount(columns: v)
        var partial = [Scalar](repeating: 0, count: k * blocks)
        let perTopic = etaPerTopic
        sstats.storage.withUnsafeBufferPointer { sstats in
        eta.withUnsafeBufferPointer { eta in
        partial.withUnsafeMutableBufferPointer { partial in
            let s = sstats.baseAddress!, e = eta.baseAddress!, sums = partial.baseAddress!
            Self.byBlocks(columns: v) { block, range in
                let sum = sums + block * k
                for w in range {
                    let column = s + w * k
                    if perTopic {
                        let prior = e + w * k
                        for i in 0..<k { sum[i] += column[i] + prior[i] }
                    } else {
                        let prior = e[w]
                        for i in 0..<k { sum[i] += column[i] + prior }
                    }
                }
            }
        }}}
        var sums = [Scalar](repeating: 0, count: k)
        for block in 0..<blocks { for i in 0..<k { sums[i] += partial[block * k + i] } }
        let shifts = sums.map { Scalar(SpecialFunctions.digamma(Double($0))) }
        let count = k * v
        var changes = [Double](repeating: 0, count: measuring ? blocks : 0)
        let old = elogbeta
        let newElog = [Scalar](unsafeUninitializedCapacity: count) { buffer, initialized in
            let newExp = [Scalar](unsafeUninitializedCapacity: count) { expBuffer, expInitialized in
                sstats.storage.withUnsafeBufferPointer { sstats in
                eta.withUnsafeBufferPointer { eta in
                old.storage.withUnsafeBufferPointer { old in
                shifts.withUnsafeBufferPointer { shifts in
                changes.withUnsafeMutableBufferPointer { changes in
                    let s = sstats.baseAddress!, e = eta.baseAddress!, previous = old.baseAddress!
                    // An empty array may still have a base address: test `measuring` itself.
                    let shift = shifts.baseAddress!, change = measuring ? changes.baseAddress : nil
                    let elog = buffer.baseAddress!, exp = expBuffer.baseAddress!
                    Self.byBlocks(columns: v) { block, range in
                        let first = range.lowerBound * k, n = range.count * k
                        // λ of the block, in the exp matrix until exp overwrites it.
                        for w in range {
                            let column = s + w * k, lambda = exp + w * k
                            if perTopic {
                                let prior = e + w * k
                                for i in 0..<k { lambda[i] = column[i] + prior[i] }
                            } else {
                                let prior = e[w]
                                for i in 0..<k { lambda[i] = column[i] + prior }
                            }
                        }
                        Scalar.digammaColumns(k: k, columns: range.count, exp + first, shifts: shift, out: elog + first)
                        if let change {
                            // Eight running sums (the change is only logged): no chain of dependent adds.
                            var sums = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
                            var index = first
                            let end = first + n
                            while index + 8 <= end {
                                let a = previous + index, b = elog + index
                                sums.0 += Double(Swift.abs(a[0] - b[0])); sums.1 += Double(Swift.abs(a[1] - b[1]))
                                sums.2 += Double(Swift.abs(a[2] - b[2])); sums.3 += Double(Swift.abs(a[3] - b[3]))
                                sums.4 += Double(Swift.abs(a[4] - b[4])); sums.5 += Double(Swift.abs(a[5] - b[5]))
                                sums.6 += Double(Swift.abs(a[6] - b[6])); sums.7 += Double(Swift.abs(a[7] - b[7]))
                                index += 8
                            }
                            var sum = ((sums.0 + sums.1) + (sums.2 + sums.3)) + ((sums.4 + sums.5) + (sums.6 + sums.7))
                            while index < end {
                                sum += Double(Swift.abs(previous[index] - elog[index]))
                                index += 1
                            }
                            change[block] = sum
                        }
                        Scalar.exponential(count: n, elog + first, out: exp + first)
                    }
                }}}}}
                expInitialized = count
            }
            expElogbeta = Matrix(rows: k, columns: v, columnMajor: newExp)
            initialized = count
        }
        elogbeta = Matrix(rows: k, columns: v, columnMajor: newElog)
        return changes.reduce(0, +) / Double(max(1, count))
    }

    /// The M-step (gensim's `do_mstep` with `LdaState.blend`): sstats ← (1 − ρ) sstats +
    /// ρ (documents / batch documents) (batch ⊙ exp E[ln β]), the batch's statistics multiplied
    /// here by the exp E[ln β] its E-step used (gensim's `sstats *= expElogbeta` after the
    /// chunk: once for the batch instead of once per job); then E[ln β] anew, and η's Newton
    /// step when it is learned. Returns the mean absolute change of E[ln β] ("topic diff"),
    /// or 0 without `measuringChange` (a process that only replays the M-step).
    /// `statisticsShared`: the statistics before are still read elsewhere (a cluster worker's
    /// stage before, a state an M-step in the background starts from), so the blend goes into
    /// new storage; otherwise in place, without a second topics x terms matrix.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    mutating func mStep(rho: Double, batch: LDAStatistics<Scalar>, extraPass: Bool, learnEta: Bool,
                        logger: Logger?, measuringChange: Bool = true, statisticsShared: Bool = false) -> Double {
        revision += 1
        let scale = batch.documents == 0 || batch.documents == documents ? 1.0 : Double(documents) / Double(batch.documents)
        if scale != 1 {
            logger?.info("merging changes from \(batch.documents) documents into a model of \(documents) documents")
        }
        let keep = Scalar(1 - rho), add = Scalar(rho * scale)
        let k = topics
        let v = termCount
        let (terms, summed) = batch.summed(termCount: v)
        // Element by element, on every core by blocks of columns, from `old` into `to` (the
        // same storage when updated in place).
        func blend(into to: UnsafeMutablePointer<Scalar>, from old: UnsafePointer<Scalar>) {
            expElogbeta.storage.withUnsafeBufferPointer { beta in
            summed.storage.withUnsafeBufferPointer { batchValues in
                let b = beta.baseAddress!, from = batchValues.baseAddress
                Self.byBlocks(columns: v) { _, range in
                    for index in (range.lowerBound * k)..<(range.upperBound * k) { to[index] = old[index] * keep }
                    guard let from else { return }
                    if let terms {
                        // The batch's columns whose terms fall in the range (terms ascending).
                        var column = 0, high = terms.count
                        while column < high {
                            let middle = (column + high) / 2
                            if Int(terms[middle]) < range.lowerBound { column = middle + 1 } else { high = middle }
                        }
                        while column < terms.count, Int(terms[column]) < range.upperBound {
                            let target = Int(terms[column]) * k, source = column * k
                            for i in 0..<k { to[target + i] += add * (from[source + i] * b[target + i]) }
                            column += 1
                        }
                    } else {
                        for index in (range.lowerBound * k)..<(range.upperBound * k) {
                            to[index] += add * (from[index] * b[index])
                        }
                    }
                }
            }}
        }
        if statisticsShared {
            // Updating in place would copy the statistics first: a pass more, and a copy.
            let before = sstats.storage
            let blended = [Scalar](unsafeUninitializedCapacity: k * v) { values, initialized in
                before.withUnsafeBufferPointer { blend(into: values.baseAddress!, from: $0.baseAddress!) }
                initialized = k * v
            }
            sstats = Matrix(rows: k, columns: v, columnMajor: blended)
        } else {
            sstats.storage.withUnsafeMutableBufferPointer { values in
                blend(into: values.baseAddress!, from: UnsafePointer(values.baseAddress!))
            }
        }
        // The mean |Δ E[ln β]|, summed by blocks and the blocks in order: the same whatever the threads.
        let change = syncTopics(measuring: measuringChange)
        if learnEta {
            // gensim updates `model.eta` here but keeps training with the η its state was made
            // with; Latent's λ uses the η it learns.
            let n = Double(k)
            var logphat = [Double](repeating: 0, count: termCount)
            for w in 0..<termCount { for i in 0..<k { logphat[w] += Double(elogbeta[i, w]) } }
            logphat = logphat.map { $0 / n }
            let current = (0..<termCount).map { Double(eta(0, $0)) }
            if let updated = DirichletNewtonStep.updated(current, observations: n, logphat: logphat, rho: rho) {
                eta = updated.map { Scalar($0) }
                syncTopics()
            } else {
                logger?.warning("updated prior is not positive: eta kept as it was")
            }
        }
        if !extraPass { updates += batch.documents }
        return change
    }

    /// Alpha's Newton step after a batch (gensim's `update_alpha`).
    mutating func updateAlpha(batch: LDAStatistics<Scalar>, rho: Double, logger: Logger?) {
        guard batch.documents > 0 else { return }
        let n = Double(batch.documents)
        let logphat = batch.logThetaSum.map { $0 / n }
        if let updated = DirichletNewtonStep.updated(alpha.map(Double.init), observations: n, logphat: logphat, rho: rho) {
            alpha = updated.map { Scalar($0) }
            logger?.info("optimized alpha \(alpha.map { String(format: "%.6g", Double($0)) }.joined(separator: ", "))")
        } else {
            logger?.warning("updated prior is not positive: alpha kept as it was")
        }
    }

    /// The topic part of the bound (gensim's `LdaModel.bound` after the documents):
    /// Σ (η − λ) E[ln β] + Σ (ln Γ(λ) − ln Γ(η)) + Σ_k (ln Γ(Σ_w η_kw) − ln Γ(Σ_w λ_kw)).
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    func topicBound() -> Double {
        let k = topics, v = termCount
        let lambda = self.lambda
        let blocks = 64
        var partial = [Double](repeating: 0, count: blocks)
        var lambdaSums = [Double](repeating: 0, count: k * blocks)
        partial.withUnsafeMutableBufferPointer { partial in
        lambdaSums.withUnsafeMutableBufferPointer { lambdaSums in
            let partialPointer = partial.baseAddress!, sumsPointer = lambdaSums.baseAddress!
            // Read once: another computation may change the process-wide setting meanwhile.
            let workers = min(blocks, max(1, BLAS.threads))
            concurrently(workers: workers) { worker in
                var block = worker
                while block < blocks {
                    let columns = (v * block / blocks)..<(v * (block + 1) / blocks)
                    var score = 0.0
                    for w in columns {
                        for i in 0..<k {
                            let l = Double(lambda.storage[i + w * k]), e = Double(eta(i, w))
                            score += (e - l) * Double(elogbeta.storage[i + w * k])
                            score += SpecialFunctions.logGamma(l) - SpecialFunctions.logGamma(e)
                            sumsPointer[block * k + i] += l
                        }
                    }
                    partialPointer[block] = score
                    block += workers
                }
            }
        }}
        var score = partial.reduce(0, +)
        for i in 0..<k {
            var lambdaSum = 0.0, etaSum = 0.0
            for block in 0..<blocks { lambdaSum += lambdaSums[block * k + i] }
            for w in 0..<v { etaSum += Double(eta(i, w)) }
            score += SpecialFunctions.logGamma(etaSum) - SpecialFunctions.logGamma(lambdaSum)
        }
        return score
    }

    /// Row-wise E[ln Dirichlet]: for each topic, ψ(x_kw) − ψ(Σ_w x_kw).
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    static func dirichletExpectation(of x: Matrix<Scalar>) -> Matrix<Scalar> {
        let k = x.rows
        // Each topic's sum by blocks of columns, the blocks then added in order.
        var partial = [Scalar](repeating: 0, count: k * blockCount(columns: x.columns))
        x.storage.withUnsafeBufferPointer { values in
        partial.withUnsafeMutableBufferPointer { partial in
            let from = values.baseAddress!, sums = partial.baseAddress!
            byBlocks(columns: x.columns) { block, range in
                for w in range { for i in 0..<k { sums[block * k + i] += from[i + w * k] } }
            }
        }}
        var sums = [Scalar](repeating: 0, count: k)
        for block in 0..<blockCount(columns: x.columns) { for i in 0..<k { sums[i] += partial[block * k + i] } }
        let psiSums = sums.map { Scalar(SpecialFunctions.digamma(Double($0))) }
        return psiSums.withUnsafeBufferPointer { shifts in
            byColumns(x) { from, to, columns in
                Scalar.digammaColumns(k: k, columns: columns, from, shifts: shifts.baseAddress!, out: to)
            }
        }
    }

    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    static func exponential(of x: Matrix<Scalar>) -> Matrix<Scalar> {
        byColumns(x) { from, to, columns in Scalar.exponential(count: columns * x.rows, from, out: to) }
    }

    /// Blocks of columns for work done on every core: fixed by the number of columns alone, so
    /// that sums made per block and added in block order do not depend on the threads.
    private static var blockColumns: Int { 1024 }

    private static func blockCount(columns: Int) -> Int { (columns + blockColumns - 1) / blockColumns }

    /// Runs `body` on each block of columns (its number and its columns), on up to
    /// `BLAS.threads` cores.
    private static func byBlocks(columns: Int, _ body: (_ block: Int, _ range: Range<Int>) -> Void) {
        let blocks = blockCount(columns: columns)
        let workers = max(1, min(BLAS.threads, blocks))
        concurrently(workers: workers) { worker in
            var block = worker
            while block < blocks {
                body(block, (block * blockColumns)..<min(columns, (block + 1) * blockColumns))
                block += workers
            }
        }
    }

    /// A matrix of x's shape whose columns `f` computes from x's, by blocks of columns on
    /// every core; column by column, so the result does not depend on the number of threads.
    private static func byColumns(
        _ x: Matrix<Scalar>,
        _ f: (_ from: UnsafePointer<Scalar>, _ to: UnsafeMutablePointer<Scalar>, _ columns: Int) -> Void
    ) -> Matrix<Scalar> {
        let k = x.rows
        var out = Matrix<Scalar>(rows: k, columns: x.columns)
        x.storage.withUnsafeBufferPointer { source in
            out.storage.withUnsafeMutableBufferPointer { target in
                let from = source.baseAddress!, to = target.baseAddress!
                byBlocks(columns: x.columns) { _, range in
                    f(from + range.lowerBound * k, to + range.lowerBound * k, range.count)
                }
            }
        }
        return out
    }
}

/// gensim's `update_dir_prior`: one Newton step (Minka 2000, as in Huang's fast Dirichlet
/// estimation) of a Dirichlet prior from `observations` draws whose mean E[ln p] is
/// `logphat`, damped by ρ; nil when a value would not stay positive (gensim then keeps the
/// prior and warns).
enum DirichletNewtonStep {
    static func updated(_ prior: [Double], observations n: Double, logphat: [Double], rho: Double) -> [Double]? {
        let sum = prior.reduce(0, +)
        let psiSum = SpecialFunctions.digamma(sum)
        let gradient = zip(prior, logphat).map { n * (psiSum - SpecialFunctions.digamma($0) + $1) }
        let c = n * SpecialFunctions.trigamma(sum)
        let q = prior.map { -n * SpecialFunctions.trigamma($0) }
        let b = zip(gradient, q).map { $0 / $1 }.reduce(0, +) / (1 / c + q.map { 1 / $0 }.reduce(0, +))
        let updated = (0..<prior.count).map { rho * (-(gradient[$0] - b) / q[$0]) + prior[$0] }
        return updated.allSatisfy({ $0 > 0 && $0.isFinite }) ? updated : nil
    }
}
