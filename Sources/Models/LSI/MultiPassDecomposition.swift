import LatentCorpus
import LatentLinearAlgebra

/// Multi-pass LSI: a randomized SVD of the whole terms x documents matrix A over 2 + q
/// passes of a re-readable corpus (Halko, Martinsson, Tropp 2011). Each pass is a sum over
/// chunks, so it is exact whatever the chunking and runs on any executor:
///
/// 1. `SketchPass`: Y = Σ_c A_c Ω_c, then Q = orth(Y), Ω a sparse sign matrix.
/// 2. q times `PowerPass`: Y = Σ_c A_c (A_cᵀ Q), then Q = orth(Y).
/// 3. `FinalPass`: B = QᵀA is l x n, too wide to hold; its L factor is built instead as a
///    tree of LQ factorisations of the chunks' blocks B_c = QᵀA_c (a TSQR of Bᵀ), and
///    B B ᵀ = L Lᵀ means the SVD of the small L gives U_B and s, with no squared condition
///    number. U = Q U_B.
enum MultiPassDecomposition {
    /// A sum of per-chunk l x m blocks; a chunk's block covers only its own terms.
    struct TermSum<Scalar: LinearAlgebraScalar>: Sendable {
        /// The model's term ids of the columns, or nil when the block covers every term.
        var terms: [Int32]?
        var values: Matrix<Scalar>
        var documents: Int

        /// `self + other` over every term. Addition commutes exactly in floating point, so
        /// the order the blocks meet in changes nothing; the tree fixes the grouping.
        @_specialize(where Scalar == Double)
        @_specialize(where Scalar == Float)
        func adding(_ other: TermSum, termCount: Int) -> TermSum {
            var (total, part) = terms == nil ? (self, other) : (other, self)
            if total.terms != nil {
                total = TermSum(terms: nil, values: total.full(termCount: termCount), documents: total.documents)
            }
            let r = total.values.rows
            total.values.storage.withUnsafeMutableBufferPointer { target in
                part.values.storage.withUnsafeBufferPointer { source in
                    if let terms = part.terms {
                        for (column, term) in terms.enumerated() {
                            for i in 0..<r { target[i + Int(term) * r] += source[i + column * r] }
                        }
                    } else {
                        for index in 0..<source.count { target[index] += source[index] }
                    }
                }
            }
            total.documents += part.documents
            return total
        }

        /// The sum over every term (zero columns for terms it does not cover).
        @_specialize(where Scalar == Double)
        @_specialize(where Scalar == Float)
        func full(termCount: Int) -> Matrix<Scalar> {
            guard let terms else { return values }
            if terms.count == termCount { return values }  // every term present, in order
            let r = values.rows
            var full = Matrix<Scalar>(rows: r, columns: termCount)
            for (column, term) in terms.enumerated() {
                for i in 0..<r { full.storage[i + Int(term) * r] = values.storage[i + column * r] }
            }
            return full
        }
    }

    /// A pass whose partial states are `TermSum`s, added.
    protocol SumPass: ChunkedComputation where PartialState == TermSum<Scalar> {
        associatedtype Scalar: LinearAlgebraScalar
        var termCount: Int { get }
    }

    /// Pass 1: Yᵀ = Σ_c Ω_cᵀ A_cᵀ, kept transposed (l x m).
    ///
    /// Each document adds its column into 8 of the l sketch columns with random signs
    /// (`SparseSignMatrix`, see `OnePassDecomposition.decompose` for the choice).
    struct SketchPass<Scalar: LinearAlgebraScalar>: SumPass {
        let termCount: Int
        let sketchSize: Int
        let seed: UInt64

        var name: String { "LSI range sketch" }

        @_specialize(where Scalar == Double)
        @_specialize(where Scalar == Float)
        func process(_ chunk: SparseChunk, index: Int) throws -> TermSum<Scalar> {
            let local = try ChunkMatrix<Scalar>(chunk, termCount: termCount)
            let omegaT = SparseSignMatrix<Scalar>(rows: sketchSize, columns: local.documentCount,
                                                  seed: testMatrixSeed(seed, pass: 1, chunk: index))
            return TermSum(terms: local.terms, values: Matrix.product(omegaT, local.matrix.transposed()),
                           documents: local.documentCount)
        }
    }

    /// A power iteration: Yᵀ = Σ_c (Qᵀ A_c) A_cᵀ for the current Qᵀ (l x m).
    struct PowerPass<Scalar: LinearAlgebraScalar>: SumPass {
        let termCount: Int
        let basis: Matrix<Scalar>

        var name: String { "LSI power iteration" }

        @_specialize(where Scalar == Double)
        @_specialize(where Scalar == Float)
        func process(_ chunk: SparseChunk, index: Int) throws -> TermSum<Scalar> {
            let local = try ChunkMatrix<Scalar>(chunk, termCount: termCount)
            let a = local.matrix, aT = a.transposed()
            let zT = Matrix.product(local.restrict(basis), a, transpose: aT)
            return TermSum(terms: local.terms, values: Matrix.product(zT, aT, transpose: a), documents: local.documentCount)
        }
    }

    /// The last pass: the L factor (l x at most l) of B = QᵀA, with B Bᵀ = L Lᵀ.
    struct FinalPass<Scalar: LinearAlgebraScalar>: ChunkedComputation {
        let termCount: Int
        let basis: Matrix<Scalar>

        var name: String { "LSI projection onto the range" }

        struct Factor: Sendable {
            var l: Matrix<Scalar>
            var documents: Int
        }

        @_specialize(where Scalar == Double)
        @_specialize(where Scalar == Float)
        func process(_ chunk: SparseChunk, index: Int) throws -> Factor {
            let local = try ChunkMatrix<Scalar>(chunk, termCount: termCount)
            let block = Matrix.product(local.restrict(basis), local.matrix)
            return Factor(l: try block.lowerFactor(), documents: local.documentCount)
        }

        @_specialize(where Scalar == Double)
        @_specialize(where Scalar == Float)
        func merge(_ earlier: Factor, _ later: Factor) throws -> Factor {
            let rows = earlier.l.rows
            let stacked = Matrix(rows: rows, columns: earlier.l.columns + later.l.columns,
                                 columnMajor: earlier.l.storage + later.l.storage)
            return Factor(l: try stacked.lowerFactor(), documents: earlier.documents + later.documents)
        }
    }
}

extension MultiPassDecomposition.SumPass {
    func merge(_ earlier: PartialState, _ later: PartialState) -> PartialState {
        earlier.adding(later, termCount: termCount)
    }
}
