import LatentCorpus
import LatentLinearAlgebra

/// One-pass LSI as a chunked computation: each job decomposes one chunk by a randomized
/// SVD, and partial states merge by `LSIProjection.merged(with:decay:keep:)`.
struct OnePassDecomposition<Scalar: LinearAlgebraScalar>: ChunkedComputation {
    let termCount: Int
    /// Columns of each chunk's sketch: topics + oversampling.
    let sketchSize: Int
    /// Factors kept in partial states. More than the topics asked for, so that energy in
    /// the tail of one chunk is not lost before the next chunk can reinforce it.
    let keep: Int
    let powerIterations: Int
    let decay: Double
    let seed: UInt64
    /// Index of this run's first chunk among all chunks the model has seen, so that the
    /// chunks of `addDocuments` draw fresh test matrices.
    let firstChunk: Int

    var name: String { "LSI chunk decomposition" }

    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    func process(_ chunk: consuming SparseChunk, index: Int) throws -> LSIProjection<Scalar> {
        // The chunk goes to the local matrix (an initializer's argument is handed over), and
        // what that does not share (in Float32 the Float64 weights) goes back there, for the
        // decomposition's blocks to reuse rather than touch fresh memory.
        let local = try ChunkMatrix<Scalar>(chunk, termCount: termCount)
        let decomposition = try decompose(local, chunkIndex: firstChunk + index)
        decomposition.checkInvariants()
        return decomposition
    }

    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    func merge(_ earlier: LSIProjection<Scalar>, _ later: LSIProjection<Scalar>) throws -> LSIProjection<Scalar> {
        try earlier.merged(with: later, decay: decay, keep: keep)
    }

    /// Multiply-adds of one sparse product (non-zeros x sketch columns) from which a Float64
    /// model runs its power iterations in Float32: 100 million, tens of milliseconds. Smaller
    /// chunks keep every product in Float64; their products take a few milliseconds, and
    /// their models keep the bits `ReproducibilityTests` recorded.
    var reducedPrecisionWork = 100_000_000

    /// Multiply-adds of one sparse product from which the power iterations read their dense
    /// side in half precision (`Matrix.steeringProduct`), in both models: a quarter of the
    /// bytes of Float64, half of Float32's, for products bound by how fast those bytes
    /// arrive. The same threshold as `reducedPrecisionWork`, so the bits recorded for small
    /// chunks stay.
    var halfPrecisionWork = 100_000_000

    /// The document-side iterate Zᵀ (l x documents) whose Y = AZ spans (AAᵀ)^q AΩ for
    /// q = `powerIterations` (at least 1): Zᵀ = orth(Yᵀ A) from Yᵀ = Ωᵀ Aᵀ, each
    /// Yᵀ = Zᵀ Aᵀ in between. The products read Yᵀ and Zᵀ rounded to halves when `halves`
    /// (Float32 only); then, in a chunk of fewer terms than documents, the term side is
    /// orthonormalised instead, which costs l² per term rather than per document (a tenth on
    /// a chunk of a million documents over 100,000 terms): Yᵀ = orth(Ωᵀ Aᵀ), then
    /// Zᵀ = Yᵀ A and Yᵀ = orth(Zᵀ Aᵀ) in turn, ending on a Zᵀ. Its last Y = AZ is then
    /// conditioned like A² rather than A, which moves the result by more than Float32
    /// steering's rounding (a subspace similarity by 1e-5 where the document side gives
    /// 2e-7) but less than the halves' own.
    @_specialize(where Scalar == Double, S == Double)
    @_specialize(where Scalar == Double, S == Float)
    @_specialize(where Scalar == Float, S == Float)
    func documentIterate<S: LinearAlgebraScalar>(_ a: SparseColumns<S>, _ aT: SparseColumns<S>, seed: UInt64,
                                                 halves: Bool) throws -> Matrix<S> {
        func steered(_ dense: Matrix<S>, _ sparse: SparseColumns<S>, transpose: SparseColumns<S>) -> Matrix<S> {
            guard halves, let dense = dense as? Matrix<Float> else { return Matrix.product(dense, sparse, transpose: transpose) }
            return Matrix.steeringProduct(dense, sparse, transpose: transpose)
        }
        var yT = Matrix.product(SparseSignMatrix<S>(rows: sketchSize, columns: a.columns, seed: seed), aT)
        if halves && a.rows < a.columns {
            yT = try yT.rowSpaceBasis()
            for iteration in 1...powerIterations {
                let zT = steered(yT, a, transpose: aT)
                if iteration == powerIterations { return zT }
                yT = try steered(zT, aT, transpose: a).rowSpaceBasis()
            }
        }
        var zT = try steered(yT, a, transpose: aT).rowSpaceBasis()
        for _ in 1..<powerIterations {
            yT = steered(zT, aT, transpose: a)
            zT = try steered(yT, a, transpose: aT).rowSpaceBasis()
        }
        return zT
    }

    /// Yᵀ = Zᵀ Aᵀ in Float64 for a Float32 Zᵀ: the gathering kernel converts Z as it reads
    /// it, the bits of converting Z first (`Matrix<Double>.product(_:_:transpose:)`).
    private func termProduct(_ zT: Matrix<Float>, _ aT: SparseColumns<Scalar>, transpose a: SparseColumns<Scalar>) -> Matrix<Scalar> {
        guard Scalar.self == Double.self else { return Matrix.product(zT.converted(to: Scalar.self), aT, transpose: a) }
        let product = Matrix<Double>.product(zT, aT as! SparseColumns<Double>, transpose: a as? SparseColumns<Double>)
        return product as! Matrix<Scalar>
    }

    /// The decomposition of one chunk A (|terms| x c), over all the model's terms, counted as
    /// one chunk of c documents.
    ///
    /// When A has no more rows or columns than the sketch would, a sketch cannot save work:
    /// the SVD of A itself is exact and no bigger. Otherwise the randomized SVD of design §3:
    /// Y = AΩ; q times Y = A orth(AᵀY); Q = orth(Y); B = QᵀA; the SVD of the small B;
    /// U = Q U_B. Tall matrices are held transposed, so orth is an LQ factorisation.
    ///
    /// Ω is a sparse sign matrix (each document added into 8 of the l sketch columns with
    /// random signs), not a Gaussian one as in gensim: 8 additions per non-zero instead of l
    /// multiply-adds, and 8 random numbers per document instead of l. It finds the range as
    /// well (Martinsson and Tropp 2020, §9.2), and the power iterations refine it either way.
    /// On wiki-small (100,000 x 100,000, 400 topics) the sketch went from 1.9 s to 0.5 s,
    /// and accuracy against a near-exact reference stayed within the spread between seeds.
    func decompose(_ local: ChunkMatrix<Scalar>, chunkIndex: Int) throws -> LSIProjection<Scalar> {
        let a = local.matrix
        // A chunk with no energy still counts, as a chunk (for decay) and as documents.
        var empty = LSIProjection<Scalar>.empty(terms: termCount)
        empty.chunks = 1
        empty.documents = a.columns
        if a.nonZeroCount == 0 { return empty }
        let small: Matrix<Scalar>
        let rotation: Matrix<Scalar>?
        if min(a.rows, a.columns) <= sketchSize {
            small = a.dense()
            rotation = nil
        } else {
            let aT = a.transposed()
            let seed = testMatrixSeed(seed, pass: 0, chunk: chunkIndex)
            // Products into documents go through A, into terms through Aᵀ; each is handed
            // the other form so the kernel can pick its faster way without a transpose.
            // Only the iterates of one side are orthonormalised between products (the
            // documents', or with halves the smaller side's: `documentIterate`): each Y = AZ
            // then spans the same subspace as in the textbook scheme, which orthonormalises
            // after every product, and the term-side orthonormalisation to full accuracy
            // happens once, for the final Q.
            let yT: Matrix<Scalar>
            let work = a.nonZeroCount * sketchSize
            // Iterations in Float32: always in a Float32 model, for large chunks in a Float64 one.
            let iteratesInFloat32 = Scalar.self == Float.self || work >= reducedPrecisionWork
            if powerIterations == 0 {
                yT = Matrix.product(SparseSignMatrix<Scalar>(rows: sketchSize, columns: a.columns, seed: seed), aT)
            } else if iteratesInFloat32 && work >= halfPrecisionWork {
                // The iterations only steer Z towards the dominant subspace, and so does the Z
                // that the last product, Y = AZ, reads: Y lies in A's range whatever Z is, so
                // every product reads its dense side in half precision (11 significant bits,
                // row by row), which halves the bytes a Float32 product moves. Y itself is
                // summed in the model's precision (an exactly low-rank chunk is still
                // recovered exactly); the rounding of Z, at most 2^-11 of its row's largest
                // value, stays far below the randomized SVD's own error.
                let a32 = a as? SparseColumns<Float> ?? a.converted(to: Float.self)
                let aT32 = aT as? SparseColumns<Float> ?? aT.converted(to: Float.self)
                let zT = try documentIterate(a32, aT32, seed: seed, halves: true)
                yT = Matrix.steeringProduct(zT, aT, transpose: a)
            } else if Scalar.self == Double.self && iteratesInFloat32 {
                // The iterations only steer Z towards the dominant subspace: run them in
                // Float32, which halves the memory the products move and doubles their
                // vector width, as multi-pass does. The last product, Y = AZ, is in Float64,
                // so Y lies in A's range to Float64 accuracy (an exactly low-rank chunk is
                // still recovered exactly) and the rounding of the iterations, about 1e-7,
                // stays far below the randomized SVD's own error.
                let zT = try documentIterate(a.converted(to: Float.self), aT.converted(to: Float.self), seed: seed, halves: false)
                yT = termProduct(zT, aT, transpose: a)
            } else {
                yT = Matrix.product(try documentIterate(a, aT, seed: seed, halves: false), aT, transpose: a)
            }
            // A large chunk's Y, well conditioned as it mostly is (AZ for an orthonormal Z),
            // takes one pass of Cholesky QR: Q orthonormal to r·ε·κ at most 1.5e-11 in Float64.
            // Smaller chunks keep two (and the bits `ReproducibilityTests` recorded).
            let qT = try (consume yT).lq(wellConditionedInOnePass: work >= reducedPrecisionWork).q
            small = Matrix.product(qT, a, transpose: aT)
            rotation = qT
        }
        let (u, s) = try leftSingularPairs(of: consume small)
        let kept = retainedRank(s, limit: keep)
        guard kept > 0 else { return empty }
        let leading = u.leadingColumns(kept)
        let localBasis = rotation.map { Matrix.product(leading, transposeA: true, $0) } ?? leading.transposed()
        return LSIProjection(basis: local.expand(localBasis), singularValues: Array(s.prefix(kept)), chunks: 1,
                             documents: a.columns)
    }
}
