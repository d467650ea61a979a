import Foundation
import LatentLinearAlgebra
import Testing

/// A random sparse matrix with about `density` of its entries set, row indices ascending.
func randomSparse<S: LinearAlgebraScalar>(rows: Int, columns: Int, density: Double, seed: UInt64) -> SparseColumns<S> {
    var generator = SeededGenerator(seed: seed)
    var starts = [0], indices: [Int32] = [], values: [S] = []
    for _ in 0..<columns {
        for i in 0..<rows where generator.nextOpenUnit() < density {
            indices.append(Int32(i))
            values.append(S(generator.nextGaussian()))
        }
        starts.append(indices.count)
    }
    return SparseColumns(rows: rows, columns: columns, columnStarts: starts, rowIndices: indices, values: values)
}

@Suite("Dense x sparse product and LQ")
struct SparseProductTests {
    @Test("D·S matches the dense product for every small shape, panel edges included", arguments: [0, 1, 2, 3, 5, 31, 32, 33, 70])
    func denseTimesSparse(height: Int) {
        for (p, q) in shapes {
            var generator = SeededGenerator(seed: UInt64(height * 1000 + p * 10 + q))
            let d = Matrix<Double>.gaussian(rows: height, columns: p, using: &generator)
            let s: SparseColumns<Double> = randomSparse(rows: p, columns: q, density: 0.4, seed: UInt64(p * 31 + q))
            let product = Matrix.product(d, s)
            #expect(product.rows == height && product.columns == q)
            #expect(maxAbsDifference(product, naiveProduct(d, s.dense())) <= 1e-12, "\(height)x\(p) · \(p)x\(q)")
        }
    }

    @Test("Float32 product to 1e-5; the transpose is the dense transpose")
    func float32AndTranspose() {
        var generator = SeededGenerator(seed: 5)
        let d = Matrix<Float>.gaussian(rows: 45, columns: 60, using: &generator)
        let s: SparseColumns<Float> = randomSparse(rows: 60, columns: 25, density: 0.2, seed: 9)
        #expect(maxAbsDifference(Matrix.product(d, s), naiveProduct(d, s.dense())) <= 1e-5)
        #expect(s.transposed().dense() == s.dense().transposed())
        #expect(s.transposed().transposed() == s)
    }

    @Test("Float32 products in 64-row panels (one thread) and in 32-row panels (300 rows on two threads) give the same bits, gather and scatter")
    func float32PanelHeights() {
        var generator = SeededGenerator(seed: 23)
        let d = Matrix<Float>.gaussian(rows: 300, columns: 500, using: &generator)
        let s: SparseColumns<Float> = randomSparse(rows: 500, columns: 90, density: 0.1, seed: 4)
        let threads = BLAS.threads
        defer { BLAS.threads = threads }
        BLAS.threads = 1
        let (gatherTall, scatterTall) = (Matrix.product(d, s), Matrix.product(d, transposed: s.transposed()))
        BLAS.threads = 2
        let (gatherNarrow, scatterNarrow) = (Matrix.product(d, s), Matrix.product(d, transposed: s.transposed()))
        #expect(gatherTall == gatherNarrow)
        #expect(scatterTall == scatterNarrow)
        #expect(maxAbsDifference(gatherTall, naiveProduct(d, s.dense())) <= 1e-4)
        #expect(maxAbsDifference(scatterTall, naiveProduct(d, s.dense())) <= 1e-4)
    }

    @Test("panel plans: each thread a contiguous range in tall panels with narrow ones for the rest, every row once")
    func panelPlans() {
        let threads = BLAS.threads
        defer { BLAS.threads = threads }
        func rows(of plan: [[(top: Int, narrow: Bool)]], _ total: Int, tall: Int, narrow: Int) -> [[Int]] {
            plan.map { $0.flatMap { panel in Array(panel.top..<min(total, panel.top + (panel.narrow ? narrow : tall))) } }
        }
        BLAS.threads = 2
        #expect(panelPlan(Float.self, rows: 300).map { $0.map(\.top) } == [[0, 64, 128], [160, 224, 288]])
        #expect(panelPlan(Float.self, rows: 300).map { $0.map(\.narrow) } == [[false, false, true], [false, false, true]])
        #expect(panelPlan(Float.self, rows: 500).map { $0.map(\.top) } == [[0, 64, 128, 192], [256, 320, 384, 448]])
        BLAS.threads = 1
        #expect(panelPlan(Float.self, rows: 300).map { $0.map(\.top) } == [[0, 64, 128, 192, 256]])
        for threadCount in 1...4 {
            BLAS.threads = threadCount
            for total in 1...400 {
                let single = panelPlan(Float.self, rows: total), double = panelPlan(Double.self, rows: total)
                let singleRows = rows(of: single, total, tall: 64, narrow: 32)
                let doubleRows = rows(of: double, total, tall: 32, narrow: 32)
                // Every row exactly once, each thread's rows contiguous and in order.
                #expect(singleRows.flatMap { $0 } == Array(0..<total), "Float32, \(total) rows, \(threadCount) threads")
                #expect(doubleRows.flatMap { $0 } == Array(0..<total), "Float64, \(total) rows, \(threadCount) threads")
                #expect(single.count <= threadCount && double.count <= threadCount && double.allSatisfy { $0.allSatisfy { !$0.narrow } })
                // Each share is within a narrow panel of an equal split, so two differ by less than two.
                let shares = singleRows.map(\.count)
                #expect((shares.max() ?? 0) - (shares.min() ?? 0) < 64, "Float32, \(total) rows, \(threadCount) threads: \(shares)")
            }
        }
    }

    @Test("Float32 and Float64 products give the same bits on one to four threads, gather, scatter, steering and mixed", arguments: [33, 97, 300, 500])
    func productsOnAnyThreads(rows: Int) {
        var generator = SeededGenerator(seed: UInt64(rows))
        let d = Matrix<Float>.gaussian(rows: rows, columns: 200, using: &generator)
        let s: SparseColumns<Float> = randomSparse(rows: 200, columns: 60, density: 0.1, seed: 8)
        let d64 = d.converted(to: Double.self), s64 = s.converted(to: Double.self)
        let threads = BLAS.threads
        defer { BLAS.threads = threads }
        BLAS.threads = 1
        let one = (Matrix.product(d, s), Matrix.product(d, transposed: s.transposed()), Matrix.product(d64, s64))
        let steering = (Matrix.steeringProduct(d, s), Matrix<Double>.steeringProduct(d, s64), Matrix<Double>.product(d, s64))
        #expect(maxAbsDifference(one.0, naiveProduct(d, s.dense())) <= 1e-4)
        for threadCount in 2...4 {
            BLAS.threads = threadCount
            #expect(Matrix.product(d, s) == one.0, "gather, \(threadCount) threads")
            #expect(Matrix.product(d, transposed: s.transposed()) == one.1, "scatter, \(threadCount) threads")
            #expect(Matrix.product(d64, s64) == one.2, "Float64, \(threadCount) threads")
            #expect(Matrix.steeringProduct(d, s) == steering.0, "halves into Float32, \(threadCount) threads")
            #expect(Matrix<Double>.steeringProduct(d, s64) == steering.1, "halves into Float64, \(threadCount) threads")
            #expect(Matrix<Double>.product(d, s64) == steering.2, "Float32 into Float64, \(threadCount) threads")
        }
    }

    /// D rounded as `Matrix.steeringProduct` documents, by Swift's own Float16: each row scaled
    /// by the power of two that brings its largest magnitude into [2^14, 2^15) (within 2^±126),
    /// rounded to a half, and scaled back (in Float64, where no value is subnormal).
    static func roundedToHalves(_ d: Matrix<Float>) -> Matrix<Double> {
        var rounded = d.converted(to: Double.self)
        for i in 0..<d.rows {
            let largest = (0..<d.columns).map { abs(d[i, $0]) }.max() ?? 0
            guard largest > 0 else { continue }
            let shift = min(126, max(-126, 14 - Int(largest.exponent)))
            let scale = Float(sign: .plus, exponent: shift, significand: 1)
            let unscale = Double(sign: .plus, exponent: -shift, significand: 1)
            for j in 0..<d.columns { rounded[i, j] = Double(Float16(d[i, j] * scale)) * unscale }
        }
        return rounded
    }

    @Test("the steering product is the exact product of D rounded to halves row by row, into Float32 and Float64, at every scale of row, over several blocks")
    func steeringProduct() {
        // (Above 32,768 columns of D, over 32,768 of S, so that the product still gathers.)
        for (p, q) in [(400, 90), (70_000, 33_000)] {
            var generator = SeededGenerator(seed: UInt64(p + q))
            var d = Matrix<Float>.gaussian(rows: 70, columns: p, using: &generator)
            for j in 0..<p {
                d[0, j] *= 1e30  // a row far beyond the largest half (65504)
                d[1, j] *= 1e-30  // and one far below its smallest
                d[2, j] = 0
                d[3, j] *= 1e-37  // near the smallest normal Float32: the scale is capped at 2^126
            }
            d[4, 7] = 1e37  // one value near Float32's largest, beside ones of about 1
            let s: SparseColumns<Float> = p < 1_000 ? randomSparse(rows: p, columns: q, density: 0.1, seed: 6) : {
                // About four entries a column, drawn without visiting every row.
                var generator = SeededGenerator(seed: 6)
                var starts = [0], indices: [Int32] = [], values: [Float] = []
                for _ in 0..<q {
                    let rows = Set((0..<4).map { _ in Int32(generator.next() % UInt64(p)) }).sorted()
                    indices += rows
                    values += rows.map { _ in Float(generator.nextGaussian()) }
                    starts.append(indices.count)
                }
                return SparseColumns(rows: p, columns: q, columnStarts: starts, rowIndices: indices, values: values)
            }()
            let rounded = Self.roundedToHalves(d)
            for i in 0..<d.rows {
                let largest = (0..<p).map { Double(abs(d[i, $0])) }.max() ?? 0
                let error = (0..<p).map { abs(rounded[i, $0] - Double(d[i, $0])) }.max() ?? 0
                #expect(error <= largest * 0x1p-11, "row \(i): \(error) against its largest \(largest)")
            }
            let s64 = s.converted(to: Double.self)
            let steered64 = Matrix<Double>.steeringProduct(d, s64)
            #expect(steered64 == Matrix.product(rounded, s64), "\(p) columns")
            // Into Float32: the same bits wherever the products stay normal Float32 values
            // (all rows but the one near Float32's smallest, which is within rounding).
            let steered = Matrix.steeringProduct(d, s), exact = Matrix.product(rounded.converted(to: Float.self), s)
            for i in 0..<d.rows where i != 3 {
                #expect((0..<q).allSatisfy { steered[i, $0] == exact[i, $0] }, "row \(i), \(p) columns")
            }
            let row3 = (0..<q).map { abs(Double(steered[3, $0]) - steered64[3, $0]) }.max() ?? 0
            let scale3 = (0..<q).map { abs(steered64[3, $0]) }.max() ?? 0
            #expect(row3 <= scale3 * 1e-5)
        }
    }

    @Test("the transpose and the Float32 copy of a million and more entries on two threads are the one-thread ones; the transpose transposes back")
    func parallelTranspose() {
        // 12,000 columns of 100 distinct rows among 5,000: 1.2 million entries.
        var generator = SeededGenerator(seed: 17)
        var starts = [0], indices: [Int32] = [], values: [Double] = []
        for _ in 0..<12_000 {
            var rows = Set<Int32>()
            while rows.count < 100 { rows.insert(Int32(generator.next() % 5_000)) }
            for row in rows.sorted() {
                indices.append(row)
                values.append(generator.nextGaussian())
            }
            starts.append(indices.count)
        }
        let s = SparseColumns(rows: 5_000, columns: 12_000, columnStarts: starts, rowIndices: indices, values: values)
        let threads = BLAS.threads
        defer { BLAS.threads = threads }
        BLAS.threads = 1
        let one = s.transposed()
        BLAS.threads = 2
        let two = s.transposed()
        #expect(one == two)
        #expect(two.rows == 12_000 && two.columns == 5_000 && two.nonZeroCount == 1_200_000)
        #expect(two.transposed() == s)
        // The conversion to Float32 splits the entries among the threads: every value is the
        // one-value conversion, in place.
        let single = s.converted(to: Float.self)
        #expect(single.values == s.values.map { Float($0) })
        #expect(single.rowIndices == s.rowIndices && single.columnStarts == s.columnStarts)
        BLAS.threads = 1
        #expect(s.converted(to: Float.self) == single)
    }

    @Test("LQ: L lower triangular, Q orthonormal rows, LQ = A, for every small shape")
    func lq() throws {
        for (m, n) in shapes {
            var generator = SeededGenerator(seed: UInt64(m * 100 + n))
            let a = Matrix<Double>.gaussian(rows: m, columns: n, using: &generator)
            let (l, q) = try a.lq()
            let k = min(m, n)
            #expect(l.rows == m && l.columns == k && q.rows == k && q.columns == n)
            #expect(orthonormalityError(q.transposed()) <= 1e-12)
            for j in 0..<k { for i in 0..<min(j, m) { #expect(l[i, j] == 0) } }
            #expect(maxAbsDifference(l * q, a) <= 1e-12, "\(m)x\(n)")
        }
    }

    @Test("LQ of a rank-deficient matrix still gives orthonormal rows")
    func lqRankDeficient() throws {
        let a = lowRank(rows: 30, columns: 50, rank: 4, seed: 3)
        let (l, q) = try a.lq()
        #expect(orthonormalityError(q.transposed()) <= 1e-12)
        #expect(maxAbsDifference(l * q, a) <= 1e-11)
    }
}

@Suite("Cholesky QR")
struct CholeskyQRTests {
    @Test("Cholesky LQ is accurate up to κ ~ 1e7 and declines rank-deficient input; lq() then falls back")
    func conditioning() throws {
        for exponent in [0, 3, 7] {
            // Rows of very different lengths and a condition number of 10^exponent.
            var a = try conditioned(rows: 20, columns: 300, exponent: exponent, seed: UInt64(exponent))
            for i in 0..<20 { for j in 0..<300 { a[i, j] *= Double(i + 1) * 100 } }
            let (l, q) = try #require(try a.choleskyLQ(), "κ = 1e\(exponent)")
            #expect(orthonormalityError(q.transposed()) <= 1e-13, "κ = 1e\(exponent)")
            #expect(maxAbsDifference(l * q, a) <= 1e-10 * a.frobeniusNorm, "κ = 1e\(exponent)")
            for j in 0..<20 { for i in 0..<j { #expect(l[i, j] == 0) } }
        }
        let deficient = lowRank(rows: 10, columns: 80, rank: 4, seed: 2)
        #expect(try deficient.choleskyLQ() == nil)
        let (l, q) = try deficient.lq()
        #expect(orthonormalityError(q.transposed()) <= 1e-12)
        #expect(maxAbsDifference(l * q, deficient) <= 1e-11)
        let lower = try deficient.lowerFactor()
        let gram = Matrix.product(deficient, deficient, transposeB: true)
        #expect(maxAbsDifference(Matrix.product(lower, lower, transposeB: true), gram) <= 1e-9 * gram.frobeniusNorm)
        var basis = deficient
        basis = try basis.rowSpaceBasis()
        #expect(orthonormalityError(basis.transposed()) <= 1e-12, "rank-deficient input falls back to Householder")
        #expect(try Matrix<Double>(rows: 3, columns: 5).choleskyLQ() == nil, "zero rows")
    }

    @Test("lowerFactor gives the singular values to 1e-12 (relative, or of the largest below 1e-2 of it) with one Cholesky pass or two",
          arguments: [0, 1, 3, 7])
    func lowerFactorAccuracy(exponent: Int) throws {
        // A 40 x 600 matrix with singular values from 1 down to 10^-exponent, rows scaled
        // unevenly: the well-conditioned cases take the one-pass path, the others two passes.
        var a = try conditioned(rows: 40, columns: 600, exponent: exponent, seed: UInt64(100 + exponent))
        for j in 0..<600 { for i in 0..<40 { a[i, j] *= 1 + Double(i % 5) } }
        let exact = try a.svd().s
        let lower = try a.lowerFactor()
        for j in 0..<40 { for i in 0..<j { #expect(lower[i, j] == 0) } }
        let fromFactor = try lower.svd().s
        for i in 0..<40 {
            // LAPACK's SVD of A is itself accurate only to about ε·σ₁ in each value.
            #expect(abs(fromFactor[i] - exact[i]) <= 1e-12 * max(exact[i], 1e-2 * exact[0]), "κ = 1e\(exponent), σ\(i)")
        }
    }

    @Test("LQ in one Cholesky pass where the input is well conditioned: Q orthonormal to 1e-13, LQ = A; two passes otherwise, and always in Float32",
          arguments: [0, 1, 3, 7])
    func lqWellConditionedInOnePass(exponent: Int) throws {
        // 40 x 600, singular values 1 down to 10^-exponent, rows scaled unevenly (Jacobi).
        var a = try conditioned(rows: 40, columns: 600, exponent: exponent, seed: UInt64(200 + exponent))
        for j in 0..<600 { for i in 0..<40 { a[i, j] *= 1 + Double(i % 5) } }
        let twoPasses = try a.lq()
        let (l, q) = try a.lq(wellConditionedInOnePass: true)
        #expect(orthonormalityError(q.transposed()) <= 1e-13, "κ = 1e\(exponent)")
        #expect(maxAbsDifference(l * q, a) <= 1e-13 * a.frobeniusNorm, "κ = 1e\(exponent)")
        for j in 0..<40 { for i in 0..<j { #expect(l[i, j] == 0) } }
        // κ(G) = κ(A)²: 1 and 100 are below 68,000 / 40, so one pass; 10^6 and 10^14 are not,
        // and those take exactly the two-pass path.
        #expect((q == twoPasses.q) == (exponent >= 3), "κ = 1e\(exponent)")
        let single = a.converted(to: Float.self)
        #expect(try single.lq(wellConditionedInOnePass: true).q == single.lq().q, "Float32 keeps two passes")
    }

    @Test("Float32 Cholesky LQ to 1e-5 on well-conditioned input")
    func float32() throws {
        var generator = SeededGenerator(seed: 4)
        let a = Matrix<Float>.gaussian(rows: 30, columns: 500, using: &generator)
        let (l, q) = try #require(try a.choleskyLQ())
        #expect(orthonormalityError(q.transposed()) <= 1e-5)
        #expect(maxAbsDifference(l * q, a) <= 1e-4)
    }

    @Test("one Cholesky pass spans the row space in Float32 when κ allows it, and declines when not")
    func choleskyRowSpaceBasis() throws {
        for exponent in [1, 6] {
            let a = try conditioned(rows: 20, columns: 400, exponent: exponent, seed: UInt64(40 + exponent))
            let basis = a.converted(to: Float.self).choleskyRowSpaceBasis()
            if exponent == 1 {
                // κ = 10: orthonormal to about ε₃₂·κ², and spanning A's rows (A = A Qᵀ Q).
                let q = try #require(basis).converted(to: Double.self)
                #expect(orthonormalityError(q.transposed()) <= 1e-4)
                let projected = Matrix.product(Matrix.product(a, q, transposeB: true), q)
                #expect(maxAbsDifference(projected, a) <= 1e-5 * a.frobeniusNorm)
            } else {
                #expect(basis == nil, "κ = 1e6 is beyond Float32's Cholesky QR")
            }
        }
        #expect(lowRank(rows: 10, columns: 80, rank: 4, seed: 2).choleskyRowSpaceBasis() == nil)
    }
}

@Suite("Dense x sparse, scattered")
struct ScatterProductTests {
    @Test("D·Sᵀ by scattering matches the dense product for every small shape", arguments: [0, 1, 2, 3, 5, 31, 32, 33, 70])
    func scatter(height: Int) {
        for (p, q) in shapes {
            var generator = SeededGenerator(seed: UInt64(height * 977 + p * 13 + q))
            let d = Matrix<Double>.gaussian(rows: height, columns: p, using: &generator)
            let s: SparseColumns<Double> = randomSparse(rows: q, columns: p, density: 0.4, seed: UInt64(p * 17 + q))
            let product = Matrix.product(d, transposed: s)
            #expect(product.rows == height && product.columns == q)
            #expect(maxAbsDifference(product, naiveProduct(d, s.dense().transposed())) <= 1e-12, "\(height)x\(p) · (\(q)x\(p))ᵀ")
            #expect(maxAbsDifference(product, Matrix.product(d, s.transposed())) <= 1e-12)
        }
        var generator = SeededGenerator(seed: 1)
        let d = Matrix<Float>.gaussian(rows: 40, columns: 50, using: &generator)
        let s: SparseColumns<Float> = randomSparse(rows: 30, columns: 50, density: 0.3, seed: 2)
        #expect(maxAbsDifference(Matrix.product(d, transposed: s), naiveProduct(d, s.dense().transposed())) <= 1e-5)
    }
}

@Suite("Sparse sign test matrices")
struct SparseSignMatrixTests {
    @Test("Ω·S matches the dense product; every column has its entries ±1/√ζ in distinct rows; the seed decides")
    func productAndShape() {
        for (rows, perColumn) in [(1, 8), (5, 8), (12, 3), (40, 8)] {
            let omega = SparseSignMatrix<Double>(rows: rows, columns: 9000, perColumn: perColumn, seed: 7)
            let dense = omega.dense()
            let z = min(perColumn, rows)
            #expect(omega.perColumn == z)
            for j in 0..<9000 {
                var count = 0
                for i in 0..<rows where dense[i, j] != 0 {
                    count += 1
                    #expect(abs(abs(dense[i, j]) - 1 / Double(z).squareRoot()) <= 1e-15)
                }
                if count != z { Issue.record("column \(j) of \(rows) x 9000 has \(count) entries, not \(z)"); break }
            }
            let s: SparseColumns<Double> = randomSparse(rows: 9000, columns: 70, density: 0.01, seed: UInt64(rows))
            for threads in [1, 2] {
                let saved = BLAS.threads
                BLAS.threads = threads
                defer { BLAS.threads = saved }
                #expect(maxAbsDifference(Matrix.product(omega, s), naiveProduct(dense, s.dense())) <= 1e-12,
                        "\(rows) rows, \(threads) thread(s)")
            }
        }
        let empty = SparseSignMatrix<Double>(rows: 0, columns: 9000, seed: 7)
        let s: SparseColumns<Double> = randomSparse(rows: 9000, columns: 5, density: 0.01, seed: 1)
        #expect(Matrix.product(empty, s).rows == 0 && Matrix.product(empty, s).columns == 5)
        let again = SparseSignMatrix<Double>(rows: 40, columns: 9000, seed: 7).dense()
        #expect(again == SparseSignMatrix<Double>(rows: 40, columns: 9000, seed: 7).dense())
        #expect(again != SparseSignMatrix<Double>(rows: 40, columns: 9000, seed: 8).dense())
    }

    @Test("rows are used evenly and signs are balanced (E[ΩΩᵀ] = I)")
    func distribution() {
        let omega = SparseSignMatrix<Double>(rows: 50, columns: 20000, seed: 3).dense()
        let gram = Matrix.product(omega, omega, transposeB: true)
        // Each diagonal entry is (entries in the row)/8, about 20000·8/50/8 = 400 ± 7 (binomial).
        for i in 0..<50 { #expect(abs(gram[i, i] / 400 - 1) <= 0.15, "row \(i): \(gram[i, i])") }
        var offDiagonal = 0.0
        for j in 0..<50 { for i in 0..<50 where i != j { offDiagonal = max(offDiagonal, abs(gram[i, j])) } }
        // Off-diagonal: about 460 random signs of 1/8 each (both rows in a column: 8/50 · 7/49), so ± 3.
        #expect(offDiagonal / 400 <= 0.05)
    }
}
