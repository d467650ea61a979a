/// Thin QR, thin SVD and symmetric eigendecomposition through LAPACKE.
///
/// Every routine works on a copy (the receiver is never changed), refuses NaN and infinite
/// entries with `LinearAlgebraError.Code.nonFiniteInput` before LAPACK sees them, turns
/// LAPACK's `info` into a thrown `LinearAlgebraError`, and returns well-formed empty results
/// for shapes with no rows or no columns (LAPACK itself rejects a leading dimension of 0).
extension Matrix {
    /// The thin QR factorisation `A = Q R` (Householder: `geqrf` then `orgqr`).
    ///
    /// For an m x n matrix with k = min(m, n): `q` is m x k with orthonormal columns and `r`
    /// is k x n upper triangular (upper trapezoidal when n > m). Costs about 4mn² - 4n³/3 flops.
    /// Rank-deficient input is fine: `q` is still orthonormal and `r` has (near-)zero
    /// diagonal entries.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    public func qr() throws -> (q: Matrix, r: Matrix) {
        let (r, reflectors, tau) = try upperFactorAndReflectors()
        let k = tau.count
        if k == 0 { return (Matrix(rows: rows, columns: 0), r) }
        // orgqr builds Q in place over the first k columns of the reflectors.
        var q = reflectors.leadingColumns(k)
        let orgqrInfo = q.storage.withUnsafeMutableBufferPointer { a in
            tau.withUnsafeBufferPointer { t in
                Scalar.lapackOrgqr(m: Int32(rows), n: Int32(k), k: Int32(k), a: a.baseAddress!, lda: Int32(rows), tau: t.baseAddress!)
            }
        }
        try Self.check(info: orgqrInfo, routine: "orgqr")
        return (q, r)
    }

    /// The R factor of `qr()` alone (AᵀA = RᵀR): half the work, Q never formed.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    public func upperFactor() throws -> Matrix {
        try upperFactorAndReflectors().r
    }

    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    private func upperFactorAndReflectors() throws -> (r: Matrix, reflectors: Matrix, tau: [Scalar]) {
        let k = min(rows, columns)
        if k == 0 { return (Matrix(rows: 0, columns: columns), self, []) }
        try checkLAPACKInput(routine: "geqrf")
        var work = self
        var tau = [Scalar](repeating: 0, count: k)
        let geqrfInfo = work.storage.withUnsafeMutableBufferPointer { a in
            tau.withUnsafeMutableBufferPointer { t in
                Scalar.lapackGeqrf(m: Int32(rows), n: Int32(columns), a: a.baseAddress!, lda: Int32(rows), tau: t.baseAddress!)
            }
        }
        try Self.check(info: geqrfInfo, routine: "geqrf")
        var r = Matrix(rows: k, columns: columns)
        for j in 0..<columns {
            for i in 0...min(j, k - 1) { r.storage[i + j * k] = work.storage[i + j * rows] }
        }
        return (r, work, tau)
    }

    /// The thin LQ factorisation `A = L Q`: L lower triangular, Q with orthonormal rows.
    ///
    /// For an m x n matrix with k = min(m, n): `l` is m x k lower triangular (lower
    /// trapezoidal when m > n) and `q` is k x n with orthonormal rows. Latent keeps tall
    /// bases transposed (one row per basis vector, see `LSIProjection`), and this is their
    /// QR. Wide matrices go through Cholesky QR (BLAS-3, many times faster) as far as it is
    /// accurate, and Householder (`householderLQ()`) finishes the job when a Cholesky fails
    /// (rank deficiency, extreme conditioning): A = L₁ Q₁ and Q₁ = L₂ Q give A = (L₁L₂) Q.
    /// Consuming: a receiver the caller no longer needs is factored in place, without a copy.
    /// `wellConditionedInOnePass`: a well-conditioned matrix takes one pass of Cholesky QR
    /// instead of two, its Q orthonormal to a bounded multiple of rounding rather than to
    /// rounding itself (see `choleskyFactorRows`; in Float64 only).
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    public consuming func lq(wellConditionedInOnePass: Bool = false) throws -> (l: Matrix, q: Matrix) {
        var q = self
        if q.rows > q.columns { return try q.householderLQ() }
        let (l, completed) = Matrix.choleskyFactorRows(&q, passes: 3, formQ: true, wellConditionedInOnePass: wellConditionedInOnePass)
        if completed { return (l, q) }
        let (lh, qh) = try q.householderLQ()
        return (Matrix.product(l, lh), qh)
    }

    /// `lq()` by Householder reflections, whatever the conditioning: the QR of Aᵀ, because
    /// LAPACK's own `gelqf` applies row reflectors to column-major storage, striding through
    /// memory, and runs several times slower than the two transposes this costs.
    public func householderLQ() throws -> (l: Matrix, q: Matrix) {
        let (q, r) = try transposed().qr()
        return (r.transposed(), q.transposed())
    }

    /// The L factor of `lq()` alone (A Aᵀ = L Lᵀ: the singular values and left singular
    /// vectors of a wide matrix); the last Cholesky pass skips forming Q.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    public consuming func lowerFactor() throws -> Matrix {
        var q = self
        if q.rows > q.columns { return try q.transposed().upperFactor().transposed() }
        let (l, completed) = Matrix.choleskyFactorRows(&q, passes: 3, formQ: false)
        if completed { return l }
        return Matrix.product(l, try q.transposed().upperFactor().transposed())
    }

    /// The thin singular value decomposition `A = U diag(s) Vᵀ`.
    ///
    /// For an m x n matrix with k = min(m, n): `u` is m x k, `s` holds k non-negative values
    /// in non-increasing order, `vt` is k x n. Uses the divide-and-conquer `gesdd` and, in
    /// the rare case it fails to converge, the QR-iteration `gesvd` on a fresh copy.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    public func svd() throws -> (u: Matrix, s: [Scalar], vt: Matrix) {
        let k = min(rows, columns)
        if k == 0 { return (Matrix(rows: rows, columns: 0), [], Matrix(rows: 0, columns: columns)) }
        try checkLAPACKInput(routine: "gesdd")
        do {
            return try decomposeSingular(routine: "gesdd")
        } catch let error as LinearAlgebraError where error.code == .noConvergence {
            return try decomposeSingular(routine: "gesvd")
        }
    }

    private func decomposeSingular(routine: String) throws -> (u: Matrix, s: [Scalar], vt: Matrix) {
        let k = min(rows, columns)
        var work = self
        var u = Matrix(rows: rows, columns: k)
        var vt = Matrix(rows: k, columns: columns)
        var s = [Scalar](repeating: 0, count: k)
        var superb = [Scalar](repeating: 0, count: max(1, k - 1))
        let m = Int32(rows), n = Int32(columns)
        let info = work.storage.withUnsafeMutableBufferPointer { a in
            s.withUnsafeMutableBufferPointer { ps in
                u.storage.withUnsafeMutableBufferPointer { pu in
                    vt.storage.withUnsafeMutableBufferPointer { pvt in
                        superb.withUnsafeMutableBufferPointer { pw in
                            if routine == "gesdd" {
                                return Scalar.lapackGesdd(m: m, n: n, a: a.baseAddress!, lda: m, s: ps.baseAddress!,
                                                          u: pu.baseAddress!, ldu: m, vt: pvt.baseAddress!, ldvt: Int32(k))
                            }
                            return Scalar.lapackGesvd(m: m, n: n, a: a.baseAddress!, lda: m, s: ps.baseAddress!,
                                                      u: pu.baseAddress!, ldu: m, vt: pvt.baseAddress!, ldvt: Int32(k),
                                                      superb: pw.baseAddress!)
                        }
                    }
                }
            }
        }
        try Self.check(info: info, routine: routine)
        return (u, s, vt)
    }

    /// The eigendecomposition of a symmetric matrix (`syevd`, reading the upper triangle).
    ///
    /// Returns the eigenvalues in non-increasing order and the matching orthonormal
    /// eigenvectors as columns. The matrix must be square.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    public func symmetricEigen() throws -> (values: [Scalar], vectors: Matrix) {
        guard rows == columns else {
            throw LinearAlgebraError(code: .shapeMismatch, routine: Scalar.lapackPrefix + "syevd",
                                     message: "expected a square matrix, got \(rows)x\(columns)")
        }
        let n = rows
        if n == 0 { return ([], Matrix(rows: 0, columns: 0)) }
        try checkLAPACKInput(routine: "syevd")
        var vectors = self
        var values = [Scalar](repeating: 0, count: n)
        let info = vectors.storage.withUnsafeMutableBufferPointer { a in
            values.withUnsafeMutableBufferPointer { w in
                Scalar.lapackSyevd(n: Int32(n), a: a.baseAddress!, lda: Int32(n), w: w.baseAddress!)
            }
        }
        try Self.check(info: info, routine: "syevd")
        // LAPACK returns ascending order; Latent's callers want the largest first.
        var descending = Matrix(rows: n, columns: n)
        for j in 0..<n {
            let source = n - 1 - j
            for i in 0..<n { descending.storage[i + j * n] = vectors.storage[i + source * n] }
        }
        return (values.reversed(), descending)
    }

    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    private func checkLAPACKInput(routine: String) throws {
        guard max(rows, columns) <= Int(Int32.max) else {
            throw LinearAlgebraError(code: .shapeMismatch, routine: Scalar.lapackPrefix + routine,
                                     message: "a \(rows)x\(columns) matrix exceeds LAPACK's 32-bit sizes")
        }
        if let index = storage.firstIndex(where: { !$0.isFinite }) {
            let value = storage[index]
            throw LinearAlgebraError(
                code: .nonFiniteInput, routine: Scalar.lapackPrefix + routine,
                message: "input matrix (\(rows)x\(columns)) has \(value) at row \(index % rows), column \(index / rows); expected finite values")
        }
    }

    private static func check(info: Int32, routine: String) throws {
        let name = Scalar.lapackPrefix + routine
        if info < 0 {
            throw LinearAlgebraError(code: .invalidArgument, routine: name, info: Int(info),
                                     message: "argument \(-info) had an illegal value")
        }
        if info > 0 {
            throw LinearAlgebraError(code: .noConvergence, routine: name, info: Int(info),
                                     message: "the algorithm failed to converge")
        }
    }
}
