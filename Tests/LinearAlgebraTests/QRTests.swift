import LatentLinearAlgebra
import Testing

@Suite("thin QR")
struct QRTests {
    @Test("Q orthonormal to 1e-12, R upper triangular, QR = A (Float64)")
    func float64() throws {
        var generator = SeededGenerator(seed: 10)
        for (m, n) in shapes {
            let a = Matrix<Double>.gaussian(rows: m, columns: n, using: &generator)
            let (q, r) = try a.qr()
            let k = min(m, n)
            #expect(q.rows == m && q.columns == k && r.rows == k && r.columns == n)
            #expect(orthonormalityError(q) <= 1e-12, "m=\(m) n=\(n)")
            for j in 0..<n { for i in (j + 1)..<max(j + 1, k) { #expect(r[i, j] == 0) } }
            #expect(maxAbsDifference(q * r, a) <= 1e-12 * max(1, a.frobeniusNorm), "m=\(m) n=\(n)")
        }
    }

    @Test("rank-deficient input still gives orthonormal Q and QR = A")
    func rankDeficient() throws {
        let a = lowRank(rows: 50, columns: 20, rank: 3, seed: 11)
        let (q, r) = try a.qr()
        #expect(orthonormalityError(q) <= 1e-12)
        #expect(maxAbsDifference(q * r, a) <= 1e-12 * a.frobeniusNorm)
    }

    @Test("Float32 within 1e-4")
    func float32() throws {
        var generator = SeededGenerator(seed: 12)
        for (m, n) in shapes {
            let a = Matrix<Float>.gaussian(rows: m, columns: n, using: &generator)
            let (q, r) = try a.qr()
            #expect(orthonormalityError(q) <= 1e-4, "m=\(m) n=\(n)")
            #expect(maxAbsDifference(q * r, a) <= 1e-4 * Double(max(1, a.frobeniusNorm)), "m=\(m) n=\(n)")
        }
    }
}
