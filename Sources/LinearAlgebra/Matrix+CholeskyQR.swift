/// Orthonormal bases of the row space of wide matrices, fast: Cholesky QR.
///
/// LSI orthonormalises a few hundred long vectors (rows of 100,000 values) many times per
/// chunk. Householder QR does this with BLAS-2 panel updates that stream the whole panel
/// through memory once per vector; Cholesky QR needs only a symmetric rank-k update, a
/// small Cholesky factorisation and a triangular solve, all BLAS-3, so it runs near the
/// machine's peak (design §3). Its weakness is conditioning: one pass loses orthogonality
/// in proportion to κ(A)², so it is repeated (CholeskyQR2) until the Gram matrix of the
/// input to a pass is close to the identity, which makes that pass's output orthonormal to
/// rounding. Rows are scaled to unit length first (Jacobi), so rows of very different
/// lengths, as in a merge residual, cost nothing in accuracy. When a Cholesky fails (rank
/// deficiency, κ beyond ~ε^(-1/2)), the callers fall back to Householder, which is always
/// accurate.
extension Matrix {
    /// `A = L Q` with Q's rows orthonormal, by Cholesky QR, or nil when that would not be
    /// accurate (then use `householderLQ()`). For a wide matrix (rows <= columns) only.
    /// `passes: 1` stops after one pass when the factorisation succeeds: Q is then a basis
    /// of the row space orthonormal only to about ε·κ(A)², enough between power iterations.
    public func choleskyLQ(passes: Int = 3) throws -> (l: Matrix, q: Matrix)? {
        guard rows <= columns else { return nil }
        var q = self
        let (l, completed) = Matrix.choleskyFactorRows(&q, passes: passes, formQ: true)
        return completed ? (l, q) : nil
    }

    /// The work of Cholesky QR, in place: on return `a` holds Q (or, when a Cholesky failed,
    /// the rows reached so far, which still span the same space) and `l` the factor with
    /// A_in = l · a. Working in place lets a caller that owns its matrix skip a copy of
    /// hundreds of megabytes; `completed` says whether `a` is orthonormal.
    ///
    /// `wellConditionedInOnePass` lets a pass whose scaled Gram matrix G is well conditioned
    /// be the last one when forming Q too: Q's rows are then orthonormal to about r·ε·κ(G)
    /// (Yamamoto et al. 2015), accepted where that is at most √ε·10⁻³ (in Float64, κ(G) up to
    /// about 68,000 / r; never in Float32), the same test as for L alone below.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    static func choleskyFactorRows(_ a: inout Matrix, passes: Int, formQ: Bool,
                                   wellConditionedInOnePass: Bool = false) -> (l: Matrix, completed: Bool) {
        let r = a.rows, n = a.columns
        var l = Matrix.identity(r)
        guard r <= n, r > 0, max(r, n) <= Int(Int32.max), a.isFinite else { return (l, r == 0) }
        for pass in 1...3 {
            var gram = Matrix(rows: r, columns: r)
            a.storage.withUnsafeBufferPointer { q in
                gram.storage.withUnsafeMutableBufferPointer { c in
                    Scalar.blasSyrkUpper(n: Int32(r), k: Int32(n), a: q.baseAddress!, lda: Int32(r),
                                         c: c.baseAddress!, ldc: Int32(r))
                }
            }
            // Jacobi scaling: factor D⁻¹GD⁻¹ (unit diagonal), then U = U' D.
            var scale = [Scalar](repeating: 0, count: r)
            for i in 0..<r {
                let diagonal = gram[i, i]
                guard diagonal > 0, diagonal.isFinite else { return (l, false) }
                scale[i] = diagonal.squareRoot()
            }
            var departure: Scalar = 0
            for j in 0..<r {
                for i in 0...j {
                    gram[i, j] /= scale[i] * scale[j]
                    departure = Swift.max(departure, Swift.abs(gram[i, j] - (i == j ? 1 : 0)))
                }
            }
            // The input of this pass is near-orthonormal (‖DGD - I‖₂ <= r·max < 1/2 bounds its
            // condition number by √3), so this pass's output is orthonormal to rounding.
            var last = passes == 1 || (pass > 1 && Scalar(r) * departure <= 0.5)
            if pass == 3 && !last { return (l, false) }
            let estimate = !formQ || wellConditionedInOnePass
            let norm = !estimate || last ? 0 : gram.symmetricUpperOneNorm()
            let info = gram.storage.withUnsafeMutableBufferPointer { g in
                Scalar.lapackPotrfUpper(n: Int32(r), a: g.baseAddress!, lda: Int32(r))
            }
            guard info == 0 else { return (l, false) }
            // Without Q, a well-conditioned input needs no second pass: the Cholesky factor of
            // its scaled Gram matrix G gives every singular value to a relative error of about
            // r·ε·κ(G) (Demmel and Veselić 1992), and LAPACK estimates κ(G) from the factor.
            if estimate && !last, let rcond = gram.storage.withUnsafeBufferPointer({ g in
                Scalar.lapackPoconUpper(n: Int32(r), a: g.baseAddress!, lda: Int32(r), norm: norm)
            }), rcond > 0 {
                last = Scalar(r) * Scalar.ulpOfOne / rcond <= Scalar.ulpOfOne.squareRoot() * 1e-3
            }
            for j in 0..<r {
                for i in 0..<r { gram[i, j] = i <= j ? gram[i, j] * scale[j] : 0 }
            }
            // a = U⁻ᵀ a; and A = L_old a_old = L_old Uᵀ a_new.
            l = Matrix.product(l, gram, transposeB: true)
            if last && !formQ { return (l, true) }
            gram.storage.withUnsafeBufferPointer { u in
                a.storage.withUnsafeMutableBufferPointer { b in
                    Scalar.blasSolveUpperTransposed(n: Int32(r), m: Int32(n), u: u.baseAddress!, ldu: Int32(r),
                                                    b: b.baseAddress!, ldb: Int32(r))
                }
            }
            guard a.isFinite else { return (l, false) }
            if last { return (l, true) }
        }
        return (l, false)
    }

    /// The 1-norm of the symmetric matrix whose upper triangle this square matrix holds.
    private func symmetricUpperOneNorm() -> Scalar {
        var sums = [Scalar](repeating: 0, count: columns)
        for j in 0..<columns {
            for i in 0..<j {
                let value = Swift.abs(self[i, j])
                sums[j] += value
                sums[i] += value
            }
            sums[j] += Swift.abs(self[j, j])
        }
        return sums.max() ?? 0
    }

    /// One pass of Cholesky QR alone: rows spanning the row space, orthonormal to about
    /// ε·κ², or nil when the Cholesky fails (κ beyond about ε^(-1/2), or rank deficiency).
    /// For callers that try a cheaper precision first and have their own fallback.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    public consuming func choleskyRowSpaceBasis() -> Matrix? {
        var q = self
        guard q.rows <= q.columns else { return nil }
        let (_, completed) = Matrix.choleskyFactorRows(&q, passes: 1, formQ: true)
        return completed ? q : nil
    }

    /// Rows spanning the row space of this wide matrix, orthonormal to about ε·κ²: one pass
    /// of Cholesky QR (half the cost of `lq()`), Householder where it fails. For the
    /// iterates of a power iteration, which only need to be well conditioned.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    public consuming func rowSpaceBasis() throws -> Matrix {
        var q = self
        if q.rows > q.columns { return try q.householderLQ().q }
        let (_, completed) = Matrix.choleskyFactorRows(&q, passes: 1, formQ: true)
        return completed ? q : try q.householderLQ().q
    }
}
