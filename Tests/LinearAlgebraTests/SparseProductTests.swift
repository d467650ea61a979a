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
