import CLAPACK

/// The element types the dense kernels are written for: `Double` (the default everywhere in
/// Latent) and `Float` (an option that halves memory and traffic).
///
/// Each requirement is a thin typed entry to the matching CBLAS or LAPACKE routine, so that
/// generic code (`Matrix<Scalar>`) calls one spelling and gets `d...` or `s...` underneath.
/// Leading dimensions and sizes are LAPACK's 32-bit integers; callers check they fit.
public protocol LinearAlgebraScalar: BinaryFloatingPoint, Sendable, Codable, LosslessStringConvertible, BitwiseCopyable
where RawSignificand: FixedWidthInteger {
    /// `d` or `s`, as in the LAPACK routine names.
    static var lapackPrefix: String { get }

    static func blasGemm(
        transposeA: Bool, transposeB: Bool, m: Int32, n: Int32, k: Int32,
        alpha: Self, a: UnsafePointer<Self>, lda: Int32,
        b: UnsafePointer<Self>, ldb: Int32,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int32)

    /// `y = alpha * op(A) * x + beta * y` through BLAS `gemv` (A column-major, m x n).
    static func blasGemv(
        transpose: Bool, m: Int32, n: Int32, alpha: Self, a: UnsafePointer<Self>, lda: Int32,
        x: UnsafePointer<Self>, beta: Self, y: UnsafeMutablePointer<Self>)

    static func lapackGeqrf(m: Int32, n: Int32, a: UnsafeMutablePointer<Self>, lda: Int32,
                            tau: UnsafeMutablePointer<Self>) -> Int32
    static func lapackOrgqr(m: Int32, n: Int32, k: Int32, a: UnsafeMutablePointer<Self>, lda: Int32,
                            tau: UnsafePointer<Self>) -> Int32
    static func lapackGesdd(m: Int32, n: Int32, a: UnsafeMutablePointer<Self>, lda: Int32,
                            s: UnsafeMutablePointer<Self>, u: UnsafeMutablePointer<Self>, ldu: Int32,
                            vt: UnsafeMutablePointer<Self>, ldvt: Int32) -> Int32
    static func lapackGesvd(m: Int32, n: Int32, a: UnsafeMutablePointer<Self>, lda: Int32,
                            s: UnsafeMutablePointer<Self>, u: UnsafeMutablePointer<Self>, ldu: Int32,
                            vt: UnsafeMutablePointer<Self>, ldvt: Int32,
                            superb: UnsafeMutablePointer<Self>) -> Int32
    static func lapackSyevd(n: Int32, a: UnsafeMutablePointer<Self>, lda: Int32,
                            w: UnsafeMutablePointer<Self>) -> Int32
    /// C = A Aᵀ (n x n, upper triangle written) for an n x k matrix A: half a gemm.
    static func blasSyrkUpper(n: Int32, k: Int32, a: UnsafePointer<Self>, lda: Int32,
                              c: UnsafeMutablePointer<Self>, ldc: Int32)
    /// The Cholesky factor U (upper, A = UᵀU) in place; info > 0 when A is not positive definite.
    static func lapackPotrfUpper(n: Int32, a: UnsafeMutablePointer<Self>, lda: Int32) -> Int32
    /// The reciprocal condition number (1-norm, estimated) of an SPD matrix from its upper
    /// Cholesky factor and the matrix's 1-norm; nil when LAPACK reports an error.
    static func lapackPoconUpper(n: Int32, a: UnsafePointer<Self>, lda: Int32, norm: Self) -> Self?
    /// B = U⁻ᵀ B for an upper triangular n x n U and an n x m B.
    static func blasSolveUpperTransposed(n: Int32, m: Int32, u: UnsafePointer<Self>, ldu: Int32,
                                         b: UnsafeMutablePointer<Self>, ldb: Int32)

    /// The hand-written loops behind `Matrix.product(_:_:)`, `Matrix.product(_:transposed:)`,
    /// `Matrix.steeringProduct(_:_:transpose:)` and the sparse sign sketch: the C kernels of
    /// `LatentKernels`, one per type (see LatentKernels.h for what each computes). Products run
    /// in panels of rows of D: gathers in tall ones (eight vectors of accumulators), scatters
    /// in tall or narrow ones, with the same bits either way. The half gather reads a panel
    /// of halves into a result of this type.
    static var panelHeights: (tall: Int, narrow: Int) { get }
    static func scatterKernel(narrow: Bool) -> ScatterKernel<Self>
    static var gatherKernel: GatherKernel<Self, Self> { get }
    static var halfGatherKernel: GatherKernel<UInt16, Self> { get }
    static var packKernel: PackKernel<Self> { get }
    static func signProduct(rows: Int, perColumn: Int, signRows: UnsafePointer<Int32>, signValues: UnsafePointer<Self>,
                            starts: UnsafePointer<Int>, indices: UnsafePointer<Int32>, values: UnsafePointer<Self>,
                            out: UnsafeMutablePointer<Self>, columns: Range<Int>)
    /// out (k values) += weights[j] · vector sources[j] of `vectors` (k values each), for each
    /// j < n in order.
    static func gatherOuter(k: Int, n: Int, sources: UnsafePointer<Int32>, vectors: UnsafePointer<Self>,
                            weights: UnsafePointer<Self>, out: UnsafeMutablePointer<Self>)

    /// Variational LDA's special functions, computed in the type's precision, the same bits on
    /// every kernel variant: out[i] = ψ(x[i]); out[c k + i] = ψ(x[c k + i]) −
    /// shifts[i] for `columns` columns of k values; out[i] = e^x[i].
    static func digamma(count: Int, _ x: UnsafePointer<Self>, out: UnsafeMutablePointer<Self>)
    static func digammaColumns(k: Int, columns: Int, _ x: UnsafePointer<Self>, shifts: UnsafePointer<Self>,
                               out: UnsafeMutablePointer<Self>)
    static func exponential(count: Int, _ x: UnsafePointer<Self>, out: UnsafeMutablePointer<Self>)
    /// The E-step of one LDA document (`latent_lda_document_*` in LatentKernels.h) over the
    /// columns ids[0..<n] of `matrix` (k rows; ids may be nil when n is 0): the number of
    /// iterations run, negated when γ did not converge; `scratch` holds `Kernels.ldaScratchSize(topics: k, terms: n)` values.
    static func ldaDocument(k: Int, n: Int, matrix: UnsafePointer<Self>, ids: UnsafePointer<Int32>?,
                            counts: UnsafePointer<Self>, alpha: UnsafePointer<Self>, iterations: Int,
                            threshold: Self, epsilon: Self, gamma: UnsafeMutablePointer<Self>,
                            elogtheta: UnsafeMutablePointer<Self>, expElogtheta: UnsafeMutablePointer<Self>,
                            phinorm: UnsafeMutablePointer<Self>, weights: UnsafeMutablePointer<Self>,
                            lastGamma: UnsafeMutablePointer<Self>, scratch: UnsafeMutablePointer<Self>) -> Int
    /// Asks the CPU to bring the columns ids[0..<n] of `matrix` (k rows) into its caches.
    static func prefetchColumns(k: Int, n: Int, matrix: UnsafePointer<Self>, ids: UnsafePointer<Int32>)
}

private let colMajor = Int32(LAPACK_COL_MAJOR)

@inline(__always)
private func cblasTranspose(_ transpose: Bool) -> CBLAS_TRANSPOSE {
    transpose ? CblasTrans : CblasNoTrans
}

extension Double: LinearAlgebraScalar {
    public static var lapackPrefix: String { "d" }

    public static func blasGemm(
        transposeA: Bool, transposeB: Bool, m: Int32, n: Int32, k: Int32,
        alpha: Double, a: UnsafePointer<Double>, lda: Int32,
        b: UnsafePointer<Double>, ldb: Int32,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int32
    ) {
        cblas_dgemm(CblasColMajor, cblasTranspose(transposeA), cblasTranspose(transposeB),
                    m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    public static func blasGemv(
        transpose: Bool, m: Int32, n: Int32, alpha: Double, a: UnsafePointer<Double>, lda: Int32,
        x: UnsafePointer<Double>, beta: Double, y: UnsafeMutablePointer<Double>
    ) {
        cblas_dgemv(CblasColMajor, cblasTranspose(transpose), m, n, alpha, a, lda, x, 1, beta, y, 1)
    }

    public static func lapackGeqrf(m: Int32, n: Int32, a: UnsafeMutablePointer<Double>, lda: Int32,
                                   tau: UnsafeMutablePointer<Double>) -> Int32 {
        LAPACKE_dgeqrf(colMajor, m, n, a, lda, tau)
    }

    public static func lapackOrgqr(m: Int32, n: Int32, k: Int32, a: UnsafeMutablePointer<Double>, lda: Int32,
                                   tau: UnsafePointer<Double>) -> Int32 {
        LAPACKE_dorgqr(colMajor, m, n, k, a, lda, tau)
    }

    public static func lapackGesdd(m: Int32, n: Int32, a: UnsafeMutablePointer<Double>, lda: Int32,
                                   s: UnsafeMutablePointer<Double>, u: UnsafeMutablePointer<Double>, ldu: Int32,
                                   vt: UnsafeMutablePointer<Double>, ldvt: Int32) -> Int32 {
        LAPACKE_dgesdd(colMajor, CChar(UInt8(ascii: "S")), m, n, a, lda, s, u, ldu, vt, ldvt)
    }

    public static func lapackGesvd(m: Int32, n: Int32, a: UnsafeMutablePointer<Double>, lda: Int32,
                                   s: UnsafeMutablePointer<Double>, u: UnsafeMutablePointer<Double>, ldu: Int32,
                                   vt: UnsafeMutablePointer<Double>, ldvt: Int32,
                                   superb: UnsafeMutablePointer<Double>) -> Int32 {
        LAPACKE_dgesvd(colMajor, CChar(UInt8(ascii: "S")), CChar(UInt8(ascii: "S")),
                       m, n, a, lda, s, u, ldu, vt, ldvt, superb)
    }

    public static func lapackSyevd(n: Int32, a: UnsafeMutablePointer<Double>, lda: Int32,
                                   w: UnsafeMutablePointer<Double>) -> Int32 {
        LAPACKE_dsyevd(colMajor, CChar(UInt8(ascii: "V")), CChar(UInt8(ascii: "U")), n, a, lda, w)
    }

    public static func blasSyrkUpper(n: Int32, k: Int32, a: UnsafePointer<Double>, lda: Int32,
                                     c: UnsafeMutablePointer<Double>, ldc: Int32) {
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, n, k, 1, a, lda, 0, c, ldc)
    }

    public static func lapackPotrfUpper(n: Int32, a: UnsafeMutablePointer<Double>, lda: Int32) -> Int32 {
        LAPACKE_dpotrf(colMajor, CChar(UInt8(ascii: "U")), n, a, lda)
    }

    public static func lapackPoconUpper(n: Int32, a: UnsafePointer<Double>, lda: Int32, norm: Double) -> Double? {
        var rcond = 0.0
        return LAPACKE_dpocon(colMajor, CChar(UInt8(ascii: "U")), n, a, lda, norm, &rcond) == 0 ? rcond : nil
    }

    public static func blasSolveUpperTransposed(n: Int32, m: Int32, u: UnsafePointer<Double>, ldu: Int32,
                                                b: UnsafeMutablePointer<Double>, ldb: Int32) {
        cblas_dtrsm(CblasColMajor, CblasLeft, CblasUpper, CblasTrans, CblasNonUnit, n, m, 1, u, ldu, b, ldb)
    }
}

extension Float: LinearAlgebraScalar {
    public static var lapackPrefix: String { "s" }

    public static func blasGemm(
        transposeA: Bool, transposeB: Bool, m: Int32, n: Int32, k: Int32,
        alpha: Float, a: UnsafePointer<Float>, lda: Int32,
        b: UnsafePointer<Float>, ldb: Int32,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int32
    ) {
        cblas_sgemm(CblasColMajor, cblasTranspose(transposeA), cblasTranspose(transposeB),
                    m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    public static func blasGemv(
        transpose: Bool, m: Int32, n: Int32, alpha: Float, a: UnsafePointer<Float>, lda: Int32,
        x: UnsafePointer<Float>, beta: Float, y: UnsafeMutablePointer<Float>
    ) {
        cblas_sgemv(CblasColMajor, cblasTranspose(transpose), m, n, alpha, a, lda, x, 1, beta, y, 1)
    }

    public static func lapackGeqrf(m: Int32, n: Int32, a: UnsafeMutablePointer<Float>, lda: Int32,
                                   tau: UnsafeMutablePointer<Float>) -> Int32 {
        LAPACKE_sgeqrf(colMajor, m, n, a, lda, tau)
    }

    public static func lapackOrgqr(m: Int32, n: Int32, k: Int32, a: UnsafeMutablePointer<Float>, lda: Int32,
                                   tau: UnsafePointer<Float>) -> Int32 {
        LAPACKE_sorgqr(colMajor, m, n, k, a, lda, tau)
    }

    public static func lapackGesdd(m: Int32, n: Int32, a: UnsafeMutablePointer<Float>, lda: Int32,
                                   s: UnsafeMutablePointer<Float>, u: UnsafeMutablePointer<Float>, ldu: Int32,
                                   vt: UnsafeMutablePointer<Float>, ldvt: Int32) -> Int32 {
        LAPACKE_sgesdd(colMajor, CChar(UInt8(ascii: "S")), m, n, a, lda, s, u, ldu, vt, ldvt)
    }

    public static func lapackGesvd(m: Int32, n: Int32, a: UnsafeMutablePointer<Float>, lda: Int32,
                                   s: UnsafeMutablePointer<Float>, u: UnsafeMutablePointer<Float>, ldu: Int32,
                                   vt: UnsafeMutablePointer<Float>, ldvt: Int32,
                                   superb: UnsafeMutablePointer<Float>) -> Int32 {
        LAPACKE_sgesvd(colMajor, CChar(UInt8(ascii: "S")), CChar(UInt8(ascii: "S")),
                       m, n, a, lda, s, u, ldu, vt, ldvt, superb)
    }

    public static func lapackSyevd(n: Int32, a: UnsafeMutablePointer<Float>, lda: Int32,
                                   w: UnsafeMutablePointer<Float>) -> Int32 {
        LAPACKE_ssyevd(colMajor, CChar(UInt8(ascii: "V")), CChar(UInt8(ascii: "U")), n, a, lda, w)
    }

    public static func blasSyrkUpper(n: Int32, k: Int32, a: UnsafePointer<Float>, lda: Int32,
                                     c: UnsafeMutablePointer<Float>, ldc: Int32) {
        cblas_ssyrk(CblasColMajor, CblasUpper, CblasNoTrans, n, k, 1, a, lda, 0, c, ldc)
    }

    public static func lapackPotrfUpper(n: Int32, a: UnsafeMutablePointer<Float>, lda: Int32) -> Int32 {
        LAPACKE_spotrf(colMajor, CChar(UInt8(ascii: "U")), n, a, lda)
    }

    public static func lapackPoconUpper(n: Int32, a: UnsafePointer<Float>, lda: Int32, norm: Float) -> Float? {
        var rcond: Float = 0
        return LAPACKE_spocon(colMajor, CChar(UInt8(ascii: "U")), n, a, lda, norm, &rcond) == 0 ? rcond : nil
    }

    public static func blasSolveUpperTransposed(n: Int32, m: Int32, u: UnsafePointer<Float>, ldu: Int32,
                                                b: UnsafeMutablePointer<Float>, ldb: Int32) {
        cblas_strsm(CblasColMajor, CblasLeft, CblasUpper, CblasTrans, CblasNonUnit, n, m, 1, u, ldu, b, ldb)
    }
}
