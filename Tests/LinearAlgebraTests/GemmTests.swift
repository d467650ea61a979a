import LatentLinearAlgebra
import Testing

@Suite("gemm against a naive product")
struct GemmTests {
    @Test("Float64, every transpose combination, every small shape")
    func float64() {
        var generator = SeededGenerator(seed: 1)
        for (m, n) in shapes {
            for k in [0, 1, 3, 7] {
                let a = Matrix<Double>.gaussian(rows: m, columns: k, using: &generator)
                let b = Matrix<Double>.gaussian(rows: k, columns: n, using: &generator)
                let expected = naiveProduct(a, b)
                for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                    let left = ta ? a.transposed() : a
                    let right = tb ? b.transposed() : b
                    let c = Matrix.product(left, transposeA: ta, right, transposeB: tb)
                    #expect(c.rows == m && c.columns == n)
                    #expect(maxAbsDifference(c, expected) <= 1e-12 * Double(max(k, 1)), "m=\(m) n=\(n) k=\(k) ta=\(ta) tb=\(tb)")
                }
            }
        }
    }

    @Test("Float32 within 1e-4 of the Float64 reference")
    func float32() {
        var generator = SeededGenerator(seed: 2)
        for (m, n) in shapes {
            let a = Matrix<Float>.gaussian(rows: m, columns: 9, using: &generator)
            let b = Matrix<Float>.gaussian(rows: 9, columns: n, using: &generator)
            let c = a * b
            #expect(maxAbsDifference(c, naiveProduct(a, b)) <= 1e-4 * 9, "m=\(m) n=\(n)")
        }
    }

    @Test("alpha and beta accumulate into C")
    func alphaBeta() {
        var generator = SeededGenerator(seed: 3)
        let a = Matrix<Double>.gaussian(rows: 4, columns: 6, using: &generator)
        let b = Matrix<Double>.gaussian(rows: 6, columns: 5, using: &generator)
        let start = Matrix<Double>.gaussian(rows: 4, columns: 5, using: &generator)
        var c = start
        Matrix.gemm(a, b, alpha: 2, beta: -0.5, into: &c)
        let ab = naiveProduct(a, b)
        for index in c.storage.indices {
            #expect(abs(c.storage[index] - (2 * ab.storage[index] - 0.5 * start.storage[index])) <= 1e-12)
        }
    }

    @Test("an empty inner dimension scales C by beta")
    func emptyInner() {
        var c = Matrix<Double>([[1, 2], [3, 4]])
        Matrix.gemm(Matrix(rows: 2, columns: 0), Matrix(rows: 0, columns: 2), beta: 3, into: &c)
        #expect(c == Matrix([[3, 6], [9, 12]]))
        Matrix.gemm(Matrix(rows: 2, columns: 0), Matrix(rows: 0, columns: 2), into: &c)
        #expect(c == Matrix(rows: 2, columns: 2))
    }

    @Test("a known 2x3 by 3x2 product")
    func knownAnswer() {
        let a = Matrix<Double>([[1, 2, 3], [4, 5, 6]])
        let b = Matrix<Double>([[7, 8], [9, 10], [11, 12]])
        #expect(a * b == Matrix([[58, 64], [139, 154]]))
    }
}
