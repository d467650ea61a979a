import Foundation

/// A quick check that the linear-algebra layer is wired to a working, fast BLAS: the
/// library in use, the speed of a square `gemm` in both precisions, and the residuals of a
/// QR and an SVD on a small random matrix. `latent selfcheck` prints it.
public struct LinearAlgebraSelfCheck: Sendable {
    public struct GemmFigure: Sendable {
        public let precision: String
        public let size: Int
        public let seconds: Double
        public var gflops: Double { 2 * pow3(Double(size)) / seconds / 1e9 }
        /// Largest error of sampled entries against a dot product accumulated in `Double`,
        /// relative to the largest entry of the product.
        public let sampledRelativeError: Double
    }

    public let blas: String
    public let threads: Int
    public let gemm: [GemmFigure]
    public let qrResidual: Double
    public let svdResidual: Double
    /// The dense x sparse kernel: (description, seconds, GFLOPS) per shape.
    public let sparse: [(shape: String, seconds: Double, gflops: Double)]

    /// LSI's shapes for the dense x sparse kernel: 500 rows (400 topics + 100 oversampling)
    /// times a chunk of 20,000 documents with 150 terms each, gathering from 20,000 and from
    /// 100,000 terms.
    public static let lsiSparseShapes = [(terms: 20_000, documents: 20_000), (terms: 100_000, documents: 20_000)]

    /// Runs the check; a `size` x `size` gemm in each precision (best of `repeats`), and the
    /// dense x sparse kernel at `sparseShapes`.
    public static func run(size: Int = 2000, repeats: Int = 3, seed: UInt64 = 42,
                           sparseShapes: [(terms: Int, documents: Int)] = lsiSparseShapes) throws -> LinearAlgebraSelfCheck {
        var generator = SeededGenerator(seed: seed)
        let figures = [
            measureGemm(Double.self, name: "Float64", size: size, repeats: repeats, generator: &generator),
            measureGemm(Float.self, name: "Float32", size: size, repeats: repeats, generator: &generator),
        ]
        let small = Matrix<Double>.gaussian(rows: 300, columns: 120, using: &generator)
        let (q, r) = try small.qr()
        let qrResidual = (q * r - small).frobeniusNorm / small.frobeniusNorm
        let (u, s, vt) = try small.svd()
        var us = u
        for j in 0..<s.count { for i in 0..<us.rows { us[i, j] *= s[j] } }
        let svdResidual = (us * vt - small).frobeniusNorm / small.frobeniusNorm
        let sparse = sparseShapes.map { shape in
            measureSparse(rows: 500, inner: shape.terms, columns: shape.documents, perColumn: 150, repeats: repeats, generator: &generator)
        }
        return LinearAlgebraSelfCheck(blas: BLAS.configuration, threads: BLAS.threads, gemm: figures,
                                      qrResidual: qrResidual, svdResidual: svdResidual, sparse: sparse)
    }

    private static func measureGemm<S: LinearAlgebraScalar>(
        _: S.Type, name: String, size: Int, repeats: Int, generator: inout SeededGenerator
    ) -> GemmFigure {
        let a = Matrix<S>.gaussian(rows: size, columns: size, using: &generator)
        let b = Matrix<S>.gaussian(rows: size, columns: size, using: &generator)
        var c = Matrix<S>(rows: size, columns: size)
        let clock = ContinuousClock()
        var best = Double.infinity
        for _ in 0..<max(1, repeats) {
            let elapsed = clock.measure { Matrix.gemm(a, b, into: &c) }
            best = min(best, elapsed / .seconds(1))
        }
        var maxError = 0.0, maxEntry = 0.0
        if size > 0 {
            for sample in 0..<16 {
                let i = (sample * 7919) % size, j = (sample * 104_729) % size
                var exact = 0.0
                for l in 0..<size { exact += Double(a[i, l]) * Double(b[l, j]) }
                maxError = max(maxError, abs(exact - Double(c[i, j])))
                maxEntry = max(maxEntry, abs(exact))
            }
        }
        return GemmFigure(precision: name, size: size, seconds: best,
                          sampledRelativeError: maxEntry > 0 ? maxError / maxEntry : 0)
    }

    private static func measureSparse(
        rows: Int, inner: Int, columns: Int, perColumn: Int, repeats: Int, generator: inout SeededGenerator
    ) -> (shape: String, seconds: Double, gflops: Double) {
        let dense = Matrix<Double>.gaussian(rows: rows, columns: inner, using: &generator)
        var starts = [0], indices: [Int32] = [], values: [Double] = []
        for _ in 0..<columns {
            let picked = Set((0..<perColumn).map { _ in Int32(generator.next() % UInt64(inner)) }).sorted()
            indices += picked
            values += picked.map { _ in generator.nextGaussian() }
            starts.append(indices.count)
        }
        let sparse = SparseColumns(rows: inner, columns: columns, columnStarts: starts, rowIndices: indices, values: values)
        let transpose = sparse.transposed()
        let clock = ContinuousClock()
        var best = Double.infinity
        for _ in 0..<max(1, repeats) {
            let elapsed = clock.measure { _ = Matrix.product(dense, sparse, transpose: transpose) }
            best = min(best, elapsed / .seconds(1))
        }
        let shape = "\(rows)x\(inner) · sparse \(inner)x\(columns) (\(sparse.nonZeroCount) non-zeros)"
        return (shape, best, 2 * Double(rows) * Double(sparse.nonZeroCount) / best / 1e9)
    }

    /// The report as printed by `latent selfcheck`.
    public var report: String {
        var lines = ["BLAS: \(blas)", "BLAS threads: \(threads)", "sparse kernels: \(Kernels.instructionSet)"]
        for figure in gemm {
            lines.append("gemm \(figure.size)x\(figure.size) \(figure.precision): " + String(
                format: "%.3f s, %.1f GFLOPS (sampled relative error %.1e)",
                figure.seconds, figure.gflops, figure.sampledRelativeError))
        }
        lines.append(String(format: "QR of 300x120: relative residual %.1e", qrResidual))
        lines.append(String(format: "SVD of 300x120: relative residual %.1e", svdResidual))
        for figure in sparse {
            lines.append("dense x sparse \(figure.shape), \(threads) thread(s): " + String(format: "%.3f s, %.1f GFLOPS", figure.seconds, figure.gflops))
        }
        return lines.joined(separator: "\n")
    }
}

private func pow3(_ x: Double) -> Double { x * x * x }
