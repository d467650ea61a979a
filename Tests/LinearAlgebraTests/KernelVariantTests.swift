import Foundation
import LatentLinearAlgebra
import Testing

/// The C kernels exist in an AVX2 and a portable version, chosen at run time: a library
/// user on a CPU without AVX2 (or on arm64) must get the same results, bit for bit.
@Suite("kernel variants", .serialized)
struct KernelVariantTests {
    /// `body` computed with the portable kernels and with the CPU's best.
    static func bothVariants<T>(_ body: () -> T) -> (portable: T, best: T) {
        let hadAVX2 = Kernels.instructionSet == "AVX2"
        Kernels.useAVX2(false)
        #expect(Kernels.instructionSet == "portable")
        let portable = body()
        Kernels.useAVX2(hadAVX2)
        return (portable, body())
    }

    @Test("gather, scatter and the sign sketch give the same bits in both versions, Float64 and Float32, panel edges included")
    func sameBits() {
        for height in [1, 31, 32, 33, 70] {
            for (p, q) in [(1, 1), (40, 3), (300, 45), (70_000, 20)] {
                var generator = SeededGenerator(seed: UInt64(height * 100 + q))
                let d = Matrix<Double>.gaussian(rows: height, columns: p, using: &generator)
                let s: SparseColumns<Double> = randomSparse(rows: p, columns: q, density: min(0.4, 300 / Double(p)), seed: UInt64(p + q))
                let gather = Self.bothVariants { Matrix.product(d, s) }
                #expect(gather.portable == gather.best, "gather \(height)x\(p) · \(p)x\(q)")
                let scatter = Self.bothVariants { Matrix.product(d, transposed: s.transposed()) }
                #expect(scatter.portable == scatter.best, "scatter \(height)x\(p) · \(p)x\(q)")
                let single = d.converted(to: Float.self)
                let sparse32: SparseColumns<Float> = randomSparse(rows: p, columns: q, density: min(0.4, 300 / Double(p)), seed: UInt64(p + q))
                let float = Self.bothVariants { (Matrix.product(single, sparse32), Matrix.product(single, transposed: sparse32.transposed())) }
                #expect(float.portable.0 == float.best.0 && float.portable.1 == float.best.1, "Float32 \(height)x\(p) · \(p)x\(q)")
            }
        }
        let omega = SparseSignMatrix<Double>(rows: 40, columns: 9000, seed: 7)
        let s: SparseColumns<Double> = randomSparse(rows: 9000, columns: 70, density: 0.01, seed: 3)
        let sketch = Self.bothVariants { Matrix.product(omega, s) }
        #expect(sketch.portable == sketch.best)
    }

    @Test("LDA's weighted column sums and scattered outer products give the same bits in both versions, for lengths around the vector widths")
    func ldaKernels() {
        func check<Scalar: LinearAlgebraScalar>(_: Scalar.Type) {
            for k in [1, 5, 8, 31, 32, 33, 100, 129] {
                for n in [0, 1, 7, 64] {
                    var generator = SeededGenerator(seed: UInt64(k * 1000 + n))
                    let columns = (0..<(k * n)).map { _ in Scalar(generator.nextOpenUnit()) }
                    let weights = (0..<max(n, 1)).map { _ in Scalar(generator.nextGaussian()) }
                    let vector = (0..<k).map { _ in Scalar(generator.nextOpenUnit()) }
                    let targets = (0..<n).map { _ in Int32(generator.next() % 5) }
                    let sums = Self.bothVariants { () -> [Scalar] in
                        var out = [Scalar](repeating: 9, count: k)
                        Scalar.weightedColumnSum(k: k, n: n, columns: columns, weights: weights, out: &out)
                        return out
                    }
                    #expect(sums.portable == sums.best, "weighted column sum \(Scalar.self) k \(k) n \(n)")
                    // The sum in the order of the columns, as documented.
                    let expected = (0..<k).map { i in (0..<n).reduce(Scalar(0)) { $0 + weights[$1] * columns[$1 * k + i] } }
                    #expect(sums.best == expected, "weighted column sum \(Scalar.self) k \(k) n \(n) against a plain loop")
                    let outer = Self.bothVariants { () -> [Scalar] in
                        var matrix = [Scalar](repeating: 1, count: 5 * k)
                        Scalar.scatterOuter(k: k, n: n, targets: targets, vector: vector, weights: weights, matrix: &matrix)
                        return matrix
                    }
                    #expect(outer.portable == outer.best, "scatter outer \(Scalar.self) k \(k) n \(n)")
                }
            }
        }
        check(Double.self)
        check(Float.self)
    }
}
