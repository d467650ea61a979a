import LatentLinearAlgebra
import Testing

@Suite("thin SVD and symmetric eigendecomposition")
struct SVDTests {
    private func checkSVD(_ a: Matrix<Double>, tolerance: Double, _ label: String) throws {
        let (u, s, vt) = try a.svd()
        let k = min(a.rows, a.columns)
        #expect(u.rows == a.rows && u.columns == k && s.count == k && vt.rows == k && vt.columns == a.columns, "\(label)")
        #expect(s.allSatisfy { $0 >= 0 }, "\(label): negative singular value")
        #expect(zip(s, s.dropFirst()).allSatisfy { $0 >= $1 }, "\(label): singular values not non-increasing")
        #expect(orthonormalityError(u) <= 1e-12, "\(label)")
        #expect(orthonormalityError(vt.transposed()) <= 1e-12, "\(label)")
        #expect(maxAbsDifference(reconstruct(u, s, vt), a) <= tolerance * max(1, a.frobeniusNorm), "\(label)")
    }

    @Test("random matrices of every small shape reconstruct to 1e-10")
    func random() throws {
        var generator = SeededGenerator(seed: 20)
        for (m, n) in shapes {
            try checkSVD(.gaussian(rows: m, columns: n, using: &generator), tolerance: 1e-10, "m=\(m) n=\(n)")
        }
    }

    @Test("rank-deficient matrices: reconstruction and exactly the true rank of non-zero values")
    func rankDeficient() throws {
        for (m, n, rank) in [(30, 12, 4), (12, 30, 4), (9, 9, 1), (60, 60, 10)] {
            let a = lowRank(rows: m, columns: n, rank: rank, seed: UInt64(m * 100 + n))
            try checkSVD(a, tolerance: 1e-10, "rank \(rank) \(m)x\(n)")
            let s = try a.svd().s
            #expect(s[rank - 1] > 1e-6 * s[0])
            #expect(s[rank...].allSatisfy { $0 <= 1e-12 * s[0] }, "rank \(rank) \(m)x\(n): \(s)")
        }
        try checkSVD(Matrix(rows: 4, columns: 3), tolerance: 0, "zero matrix")
    }

    @Test("known singular values of a diagonal-like matrix")
    func knownAnswer() throws {
        let a = Matrix<Double>([[0, 3, 0], [4, 0, 0], [0, 0, 0], [0, 0, -2]])
        let s = try a.svd().s
        #expect(zip(s, [4.0, 3, 2]).allSatisfy { abs($0 - $1) <= 1e-14 })
    }

    @Test("Float32 reconstruction within 1e-4")
    func float32() throws {
        var generator = SeededGenerator(seed: 21)
        for (m, n) in shapes {
            let a = Matrix<Float>.gaussian(rows: m, columns: n, using: &generator)
            let (u, s, vt) = try a.svd()
            #expect(zip(s, s.dropFirst()).allSatisfy { $0 >= $1 } && s.allSatisfy { $0 >= 0 })
            #expect(maxAbsDifference(reconstruct(u, s, vt), a) <= 1e-4 * Double(max(1, a.frobeniusNorm)), "m=\(m) n=\(n)")
        }
    }

    @Test("NaN or infinite input is a thrown error naming the routine and the entry")
    func nonFinite() {
        var a = Matrix<Double>(rows: 3, columns: 2, repeating: 1)
        a[2, 1] = .nan
        #expect {
            try a.svd()
        } throws: { error in
            guard let error = error as? LinearAlgebraError else { return false }
            return error.code == .nonFiniteInput && error.routine == "dgesdd"
                && error.description.contains("row 2, column 1")
        }
        var b = Matrix<Float>(rows: 2, columns: 2, repeating: 1)
        b[0, 0] = .infinity
        #expect(throws: LinearAlgebraError.self) { try b.qr() }
        #expect(throws: LinearAlgebraError.self) { try b.symmetricEigen() }
    }

    @Test("symmetric eigendecomposition: descending values, orthonormal vectors, A V = V diag(w)")
    func symmetricEigen() throws {
        var generator = SeededGenerator(seed: 22)
        for n in smallDimensions + [40] {
            let g = Matrix<Double>.gaussian(rows: n, columns: n + 2, using: &generator)
            let a = Matrix.product(g, g, transposeB: true)
            let (w, v) = try a.symmetricEigen()
            #expect(w.count == n && zip(w, w.dropFirst()).allSatisfy { $0 >= $1 })
            #expect(orthonormalityError(v) <= 1e-12)
            var vw = v
            for j in 0..<n { for i in 0..<n { vw[i, j] *= w[j] } }
            #expect(maxAbsDifference(a * v, vw) <= 1e-10 * max(1, a.frobeniusNorm), "n=\(n)")
        }
        #expect(throws: LinearAlgebraError.self) { try Matrix<Double>(rows: 2, columns: 3).symmetricEigen() }
    }

    @Test("singular values agree with the eigenvalues of AᵀA")
    func agreesWithEigen() throws {
        var generator = SeededGenerator(seed: 23)
        let a = Matrix<Double>.gaussian(rows: 30, columns: 8, using: &generator)
        let s = try a.svd().s
        let w = try Matrix.product(a, transposeA: true, a).symmetricEigen().values
        for (sv, ev) in zip(s, w) { #expect(abs(sv * sv - ev) <= 1e-10 * w[0]) }
    }
}
