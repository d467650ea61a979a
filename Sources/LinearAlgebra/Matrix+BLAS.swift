import CLAPACK
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Matrix {
    /// `C = alpha * op(A) * op(B) + beta * C` through BLAS `gemm`, where op transposes when asked.
    ///
    /// Costs 2·m·n·k flops; OpenBLAS runs it near the machine's peak on large operands, using
    /// as many threads as `BLAS.threads` allows.
    public static func gemm(
        _ a: Matrix, transposeA: Bool = false,
        _ b: Matrix, transposeB: Bool = false,
        alpha: Scalar = 1, beta: Scalar = 0, into c: inout Matrix
    ) {
        let m = transposeA ? a.columns : a.rows
        let k = transposeA ? a.rows : a.columns
        let kB = transposeB ? b.columns : b.rows
        let n = transposeB ? b.rows : b.columns
        precondition(k == kB, "gemm: inner dimensions \(k) and \(kB) differ")
        precondition(c.rows == m && c.columns == n, "gemm: result is \(c.rows)x\(c.columns), expected \(m)x\(n)")
        precondition(max(m, n, k) <= Int(Int32.max), "gemm: dimension exceeds LAPACK's 32-bit sizes")
        if m == 0 || n == 0 { return }
        if k == 0 {
            for index in c.storage.indices { c.storage[index] = beta == 0 ? 0 : beta * c.storage[index] }
            return
        }
        a.storage.withUnsafeBufferPointer { pa in
            b.storage.withUnsafeBufferPointer { pb in
                c.storage.withUnsafeMutableBufferPointer { pc in
                    // Non-empty arrays: the base addresses exist.
                    guard let baseA = pa.baseAddress, let baseB = pb.baseAddress, let baseC = pc.baseAddress else { return }
                    Scalar.blasGemm(
                        transposeA: transposeA, transposeB: transposeB,
                        m: Int32(m), n: Int32(n), k: Int32(k),
                        alpha: alpha, a: baseA, lda: Int32(max(1, a.rows)),
                        b: baseB, ldb: Int32(max(1, b.rows)),
                        beta: beta, c: baseC, ldc: Int32(max(1, m)))
                }
            }
        }
    }

    /// `op(A) * op(B)` as a new matrix.
    public static func product(_ a: Matrix, transposeA: Bool = false, _ b: Matrix, transposeB: Bool = false) -> Matrix {
        var c = Matrix(rows: transposeA ? a.columns : a.rows, columns: transposeB ? b.rows : b.columns)
        gemm(a, transposeA: transposeA, b, transposeB: transposeB, into: &c)
        return c
    }

    public static func * (lhs: Matrix, rhs: Matrix) -> Matrix {
        product(lhs, rhs)
    }

    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    public static func + (lhs: Matrix, rhs: Matrix) -> Matrix {
        precondition(lhs.rows == rhs.rows && lhs.columns == rhs.columns, "matrix sum of different shapes")
        var result = lhs
        for index in result.storage.indices { result.storage[index] += rhs.storage[index] }
        return result
    }

    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    public static func - (lhs: Matrix, rhs: Matrix) -> Matrix {
        precondition(lhs.rows == rhs.rows && lhs.columns == rhs.columns, "matrix difference of different shapes")
        var result = lhs
        for index in result.storage.indices { result.storage[index] -= rhs.storage[index] }
        return result
    }
}

/// Process-wide settings of the BLAS library (OpenBLAS).
public enum BLAS {
    /// The number of threads OpenBLAS and the sparse kernels use inside one call; the
    /// default is OpenBLAS's (all cores, or `OPENBLAS_NUM_THREADS`). The setting is
    /// process-wide, so it has one owner: the training executors set it (through
    /// `ComputeThreads` in the models layer) for the jobs they run, and nothing else does.
    ///
    /// A thread inside `limitingThisThread(to:_:)` sees at most its limit here: Latent's own
    /// kernels and loops split their work by this number (OpenBLAS's calls keep the
    /// process-wide setting).
    public package(set) static var threads: Int {
        get {
            let shared = Int(openblas_get_num_threads())
            guard let key = threadLimitKey, let limit = pthread_getspecific(key) else { return shared }
            return min(shared, Int(bitPattern: limit))
        }
        set { openblas_set_num_threads(Int32(max(1, min(newValue, 1024)))) }
    }

    /// Runs `body` with `threads` as this thread's most (at least 1), for work in the
    /// background of a process whose cores are busy elsewhere; the limit ends with `body`.
    public static func limitingThisThread<Result>(to threads: Int, _ body: () throws -> Result) rethrows -> Result {
        guard let key = threadLimitKey else { return try body() }
        let before = pthread_getspecific(key)
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: max(1, threads)))
        defer { pthread_setspecific(key, before) }
        return try body()
    }

    /// The key of each thread's limit, whose value is the limit itself as a pointer's bits
    /// (none: no limit); nil when the system has no key left to give (then no thread is limited).
    private static let threadLimitKey: pthread_key_t? = {
        var key = pthread_key_t()
        return pthread_key_create(&key, nil) == 0 ? key : nil
    }()

    /// OpenBLAS's description of itself: version, build options and the kernel in use.
    public static var configuration: String {
        guard let config = openblas_get_config() else { return "unknown BLAS" }
        var text = String(cString: config)
        if let core = openblas_get_corename() { text += " (kernel \(String(cString: core)))" }
        return text.trimmingCharacters(in: " ")
    }
}

extension String {
    fileprivate func trimmingCharacters(in character: Character) -> String {
        var slice = Substring(self)
        while slice.first == character { slice.removeFirst() }
        while slice.last == character { slice.removeLast() }
        return String(slice)
    }
}
