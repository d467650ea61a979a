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
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    /// `passes: 1` stops after one pass when the factorisation succeeds: Q is then a basis
    /// of the row space orthonormal only to about ε·κ(A)², enough between power iterations.
    /// With `formQ: false` the last pass skips its triangular solve and `q` is not the
    /// orthonormal factor (for callers that want L alone).
    public func choleskyLQ(passes: Int = 3, formQ: Bool = true) throws -> (l: Matrix, q: Matrix)? {
        let r = rows, n = columns
        guard r <= n else { return nil }
        if r == 0 { return (Matrix(rows: 0, columns: 0), Matrix(rows: 0, columns: n)) }
        guard max(r, n) <= Int(Int32.max), isFinite else { return nil }
        var q = self
        var l = Matrix.identity(r)
        for pass in 1...3 {
            var gram = Matrix(rows: r, columns: r)
            q.storage.withUnsafeBufferPointer { a in
                gram.storage.withUnsafeMutableBufferPointer { c in
                    Scalar.blasSyrkUpper(n: Int32(r), k: Int32(n), a: a.baseAddress!, lda: Int32(r),
                                         c: c.baseAddress!, ldc: Int32(r))
                }
            }
            // Jacobi scaling: factor D⁻¹GD⁻¹ (unit diagonal), then U = U' D.
            var scale = [Scalar](repeating: 0, count: r)
            for i in 0..<r {
                let diagonal = gram[i, i]
                guard diagonal > 0, diagonal.isFinite else { return nil }
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
            let last = passes == 1 || (pass > 1 && Scalar(r) * departure <= 0.5)
            if pass == 3 && !last { return nil }
            let info = gram.storage.withUnsafeMutableBufferPointer { a in
                Scalar.lapackPotrfUpper(n: Int32(r), a: a.baseAddress!, lda: Int32(r))
            }
            guard info == 0 else { return nil }
            for j in 0..<r {
                for i in 0..<r { gram[i, j] = i <= j ? gram[i, j] * scale[j] : 0 }
            }
            l = Matrix.product(l, gram, transposeB: true)
            if last && !formQ { return (l, q) }
            // q = U⁻ᵀ q; and A = L_old q_old = L_old Uᵀ q_new.
            gram.storage.withUnsafeBufferPointer { u in
                q.storage.withUnsafeMutableBufferPointer { b in
                    Scalar.blasSolveUpperTransposed(n: Int32(r), m: Int32(n), u: u.baseAddress!, ldu: Int32(r),
                                                    b: b.baseAddress!, ldb: Int32(r))
                }
            }
            guard q.isFinite else { return nil }
            if last { return (l, q) }
        }
        return nil
    }

    /// Rows spanning the row space of this wide matrix, orthonormal to about ε·κ²: one pass
    /// of Cholesky QR (half the cost of `lq()`), or Householder when that fails. For the
    /// iterates of a power iteration, which only need to be well conditioned.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    public func rowSpaceBasis() throws -> Matrix {
        if let (_, q) = try choleskyLQ(passes: 1) { return q }
        return try householderLQ().q
    }
}
