import Foundation
import LatentLinearAlgebra

/// A truncated decomposition A ≈ U diag(s) Vᵀ of a terms x documents matrix, without V:
/// the state of an LSI model and the partial state its jobs produce and merge.
///
/// `basis` holds Uᵀ: row i is the i-th left singular vector, with one column per term. Held
/// transposed because every kernel that touches it wants a term's coordinates contiguous
/// (the dense x sparse product gathers them per entry), and because that layout is exactly
/// NumPy's C order for the terms x topics U that gensim users know.
struct LSIProjection<Scalar: LinearAlgebraScalar>: Sendable {
    /// Uᵀ, rank x terms, orthonormal rows.
    var basis: Matrix<Scalar>
    /// Non-negative, non-increasing; one per row of `basis`.
    var singularValues: [Scalar]
    /// Chunks folded in: a merge applies the decay once per chunk of the later state.
    var chunks: Int
    var documents: Int

    var rank: Int { singularValues.count }
    var termCount: Int { basis.columns }

    /// The decomposition of no documents.
    static func empty(terms: Int) -> LSIProjection {
        LSIProjection(basis: Matrix(rows: 0, columns: terms), singularValues: [], chunks: 0, documents: 0)
    }

    /// Merges the decomposition of the documents that follow (Brand 2006; gensim's
    /// `Projection.merge`), keeping at most `keep` factors.
    ///
    /// With U1 = `basis`ᵀ and U2 = `later.basis`ᵀ: C = U1ᵀU2; the part of U2 outside span(U1)
    /// is U2 - U1 C, orthogonalised a second time because one Gram-Schmidt pass loses
    /// orthogonality when U2 lies nearly inside span(U1); its LQ factorisation (the QR of the
    /// transposed layout) gives Q and R = Lᵀ. Then [w·U1 S1, U2 S2] = [U1 Q] K with
    /// K = [[w·S1, C S2], [0, R S2]], and the SVD of the small K gives the merged factors.
    /// w = decay^(later.chunks) so that a tree of merges weighs every chunk as a sequence
    /// of merges would.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    func merged(with later: LSIProjection, decay: Double, keep: Int) throws -> LSIProjection {
        let weight = Scalar(decay == 1 ? 1 : Foundation.pow(decay, Double(later.chunks)))
        let chunks = self.chunks + later.chunks
        let documents = self.documents + later.documents
        if later.rank == 0 {
            return LSIProjection(basis: basis, singularValues: singularValues.map { $0 * weight },
                                 chunks: chunks, documents: documents)
        }
        if rank == 0 {
            return LSIProjection(basis: later.basis, singularValues: later.singularValues,
                                 chunks: chunks, documents: documents)
        }
        let k1 = rank, k2 = later.rank
        var overlap = Matrix.product(basis, later.basis, transposeB: true)
        var residual = later.basis
        Matrix.gemm(overlap, transposeA: true, basis, alpha: -1, beta: 1, into: &residual)
        let correction = Matrix.product(basis, residual, transposeB: true)
        Matrix.gemm(correction, transposeA: true, basis, alpha: -1, beta: 1, into: &residual)
        overlap = overlap + correction
        let (l, q) = try (consume residual).lq()
        let k2q = q.rows

        var middle = Matrix<Scalar>(rows: k1 + k2q, columns: k1 + k2)
        for i in 0..<k1 { middle[i, i] = weight * singularValues[i] }
        for j in 0..<k2 {
            let s2 = later.singularValues[j]
            for i in 0..<k1 { middle[i, k1 + j] = overlap[i, j] * s2 }
            // R = Lᵀ, upper triangular: row i of R is column i of L.
            for i in 0..<min(k2q, j + 1) { middle[k1 + i, k1 + j] = l[j, i] * s2 }
        }
        let (uMiddle, s) = try leftSingularPairs(of: middle)
        let kept = retainedRank(s, limit: keep)

        var merged = Matrix.product(uMiddle.submatrix(rows: 0..<k1, columns: 0..<kept), transposeA: true, basis)
        Matrix.gemm(uMiddle.submatrix(rows: k1..<(k1 + k2q), columns: 0..<kept), transposeA: true, q,
                    beta: 1, into: &merged)
        let result = LSIProjection(basis: merged, singularValues: Array(s.prefix(kept)), chunks: chunks, documents: documents)
        result.checkInvariants()
        return result
    }

    /// The first `topics` factors with canonical signs: the entry of largest magnitude in
    /// each basis vector is positive (so `0.644*"system" + ...` rather than its negation).
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    func canonical(topics: Int) -> LSIProjection {
        let kept = min(topics, rank)
        var truncated = kept == rank ? basis : basis.submatrix(rows: 0..<kept, columns: 0..<termCount)
        // One sweep over the terms (the storage order) finds each row's largest entry.
        var largest = [Scalar](repeating: 0, count: kept)
        truncated.storage.withUnsafeMutableBufferPointer { values in
            for term in 0..<termCount {
                for i in 0..<kept where Swift.abs(values[i + term * kept]) > Swift.abs(largest[i]) {
                    largest[i] = values[i + term * kept]
                }
            }
            // Multiplying by ±1 is exact, and a loop without branches runs in vectors.
            let signs = largest.map { $0 < 0 ? Scalar(-1) : Scalar(1) }
            for term in 0..<termCount {
                for i in 0..<kept { values[i + term * kept] *= signs[i] }
            }
        }
        return LSIProjection(basis: truncated, singularValues: Array(singularValues.prefix(kept)),
                             chunks: chunks, documents: documents)
    }

    /// Debug builds check the invariants after every merge: singular values non-negative
    /// and non-increasing, basis rows orthonormal (the latter only when cheap to check).
    func checkInvariants() {
        #if DEBUG
        for (i, value) in singularValues.enumerated() {
            assert(value >= 0 && (i == 0 || value <= singularValues[i - 1]), "singular values out of order at \(i)")
        }
        if rank * rank * termCount <= 20_000_000 {
            let gram = Matrix.product(basis, basis, transposeB: true)
            let tolerance: Scalar = Scalar.ulpOfOne.squareRoot()
            for i in 0..<rank {
                for j in 0..<rank {
                    assert(Swift.abs(gram[i, j] - (i == j ? 1 : 0)) <= tolerance, "basis not orthonormal at (\(i), \(j))")
                }
            }
        }
        #endif
    }
}

/// The left singular vectors and values of `b` (rows x columns). A wide matrix is first
/// reduced to its square L factor (B = L Q, so B and L share U and s): the SVD then runs on
/// rows x rows values instead of rows x columns, and V, which LSI never needs, is not formed.
@_specialize(where Scalar == Double)
@_specialize(where Scalar == Float)
func leftSingularPairs<Scalar: LinearAlgebraScalar>(of b: consuming Matrix<Scalar>) throws -> (u: Matrix<Scalar>, s: [Scalar]) {
    if b.columns > b.rows {
        let (u, s, _) = try b.lowerFactor().svd()
        return (u, s)
    }
    let (u, s, _) = try b.svd()
    return (u, s)
}

/// How many of the leading singular values `s` (non-increasing) carry energy, at most
/// `limit`. A value at or below √ε times the largest is rounding noise from a
/// rank-deficient input (the 9-document corpus has rank 9, whatever the topics asked) and
/// is dropped, as gensim drops such factors.
@_specialize(where Scalar == Double)
@_specialize(where Scalar == Float)
func retainedRank<Scalar: LinearAlgebraScalar>(_ s: [Scalar], limit: Int) -> Int {
    guard let largest = s.first, largest > 0 else { return 0 }
    let floor = largest * Scalar.ulpOfOne.squareRoot()
    var count = 0
    while count < min(limit, s.count) && s[count] > floor { count += 1 }
    return count
}
