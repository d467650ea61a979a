import Foundation
import LatentLinearAlgebra

/// The product computed the schoolbook way in `Double`, the reference for gemm.
func naiveProduct<S: LinearAlgebraScalar>(_ a: Matrix<S>, _ b: Matrix<S>) -> Matrix<Double> {
    var c = Matrix<Double>(rows: a.rows, columns: b.columns)
    for i in 0..<a.rows {
        for j in 0..<b.columns {
            var sum = 0.0
            for l in 0..<a.columns { sum += Double(a[i, l]) * Double(b[l, j]) }
            c[i, j] = sum
        }
    }
    return c
}

func maxAbsDifference<S: LinearAlgebraScalar, T: LinearAlgebraScalar>(_ a: Matrix<S>, _ b: Matrix<T>) -> Double {
    precondition(a.rows == b.rows && a.columns == b.columns)
    var worst = 0.0
    for index in a.storage.indices { worst = max(worst, abs(Double(a.storage[index]) - Double(b.storage[index]))) }
    return worst
}

/// ||QᵀQ - I||_max: how far the columns of `q` are from orthonormal.
func orthonormalityError<S: LinearAlgebraScalar>(_ q: Matrix<S>) -> Double {
    let gram = Matrix.product(q, transposeA: true, q).converted(to: Double.self)
    return maxAbsDifference(gram, Matrix<Double>.identity(q.columns))
}

/// U diag(s) Vᵀ.
func reconstruct<S: LinearAlgebraScalar>(_ u: Matrix<S>, _ s: [S], _ vt: Matrix<S>) -> Matrix<S> {
    var scaled = u
    for j in 0..<s.count { for i in 0..<u.rows { scaled[i, j] *= s[j] } }
    return scaled * vt
}

/// A random m x n matrix of rank at most `rank` (product of two Gaussian factors).
func lowRank(rows: Int, columns: Int, rank: Int, seed: UInt64) -> Matrix<Double> {
    var generator = SeededGenerator(seed: seed)
    let left = Matrix<Double>.gaussian(rows: rows, columns: rank, using: &generator)
    let right = Matrix<Double>.gaussian(rows: rank, columns: columns, using: &generator)
    return left * right
}

/// A random wide matrix (rows <= columns) with singular values spaced evenly on a log scale
/// from 1 down to 10^-exponent: condition number 10^exponent.
func conditioned(rows: Int, columns: Int, exponent: Int, seed: UInt64) throws -> Matrix<Double> {
    var generator = SeededGenerator(seed: seed)
    let (u, _, vt) = try Matrix<Double>.gaussian(rows: rows, columns: columns, using: &generator).svd()
    var s = Matrix<Double>(rows: rows, columns: rows)
    for i in 0..<rows { s[i, i] = Foundation.pow(10, -Double(exponent) * Double(i) / Double(max(1, rows - 1))) }
    return u * s * vt
}

/// The shapes every routine is tried on: the degenerate ones and a few larger.
let smallDimensions = [0, 1, 2, 3, 5]
let shapes: [(Int, Int)] = smallDimensions.flatMap { m in smallDimensions.map { n in (m, n) } }
    + [(40, 17), (17, 40), (64, 64), (200, 30)]
