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

    @Test("gather, scatter and the sign sketch give the same bits in both versions, Float64, Float32, a Float32 D with a Float64 S and halves, panel edges included")
    func sameBits() {
        for height in [1, 31, 32, 33, 70, 128, 129] {
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
                // A Float32 D times a Float64 S: the bits of D converted to Float64 first.
                let mixed = Self.bothVariants { Matrix<Double>.product(single, s) }
                let converted = Matrix.product(single.converted(to: Double.self), s)
                #expect(mixed.portable == converted && mixed.best == converted, "Float32 x Float64 \(height)x\(p) · \(p)x\(q)")
                // Halves: the packing's rounding and the gather into either precision.
                let steering = Self.bothVariants { (Matrix.steeringProduct(single, sparse32), Matrix<Double>.steeringProduct(single, s)) }
                #expect(steering.portable.0 == steering.best.0 && steering.portable.1 == steering.best.1,
                        "halves \(height)x\(p) · \(p)x\(q)")
            }
        }
        // The shape where the product scatters (more than 32,768 rows of S, few columns).
        var generator = SeededGenerator(seed: 5)
        let wide = Matrix<Float>.gaussian(rows: 40, columns: 40_000, using: &generator)
        let tall: SparseColumns<Double> = randomSparse(rows: 40_000, columns: 30, density: 0.01, seed: 8)
        #expect(Matrix<Double>.product(wide, tall) == Matrix.product(wide.converted(to: Double.self), tall))
        let omega = SparseSignMatrix<Double>(rows: 40, columns: 9000, seed: 7)
        let s: SparseColumns<Double> = randomSparse(rows: 9000, columns: 70, density: 0.01, seed: 3)
        let sketch = Self.bothVariants { Matrix.product(omega, s) }
        #expect(sketch.portable == sketch.best)
    }

    @Test("LDA's gathered outer products give the same bits in both versions, for lengths around the vector widths, and a plain loop's")
    func ldaKernels() {
        func check<Scalar: LinearAlgebraScalar>(_: Scalar.Type) {
            for k in [1, 5, 8, 31, 32, 33, 100, 129] {
                for n in [0, 1, 7, 64] {
                    var generator = SeededGenerator(seed: UInt64(k * 1000 + n))
                    let weights = (0..<max(n, 1)).map { _ in Scalar(generator.nextGaussian()) }
                    let vectors = (0..<(5 * k)).map { _ in Scalar(generator.nextOpenUnit()) }
                    let sources = (0..<max(n, 1)).map { _ in Int32(generator.next() % 5) }
                    let start = (0..<k).map { _ in Scalar(generator.nextOpenUnit()) }
                    let outer = Self.bothVariants { () -> [Scalar] in
                        var out = start
                        Scalar.gatherOuter(k: k, n: n, sources: sources, vectors: vectors, weights: weights, out: &out)
                        return out
                    }
                    #expect(outer.portable == outer.best, "gather outer \(Scalar.self) k \(k) n \(n)")
                    // Each entry's additions in the order of j, as documented.
                    var expected = start
                    for j in 0..<n { for i in 0..<k { expected[i] = expected[i] + vectors[Int(sources[j]) * k + i] * weights[j] } }
                    #expect(outer.best == expected, "gather outer \(Scalar.self) k \(k) n \(n) against a plain loop")
                }
            }
        }
        check(Double.self)
        check(Float.self)
    }

    @Test("LDA's ψ and exp: the same bits in both versions and as one value or in a vector; exp within one unit in the last place of the C library's; Float32 ψ within 1e-6 of Float64's; the edges of their domains")
    func ldaSpecialFunctions() {
        var generator = SeededGenerator(seed: 11)
        // ψ's arguments across its regimes (tiny, the recurrence, the series), exp's from
        // underflow to overflow, and the values either side of each edge.
        var psiArguments = (0..<4099).map { _ in Foundation.exp(-25 + 40 * generator.nextOpenUnit()) }
        psiArguments += [0, -0.0, -1, .nan, .infinity, -.infinity, 1e-300, 9.999999999999998, 10, 10.000000000000002]
        var expArguments = (0..<4099).map { _ in -760 + 1480 * generator.nextOpenUnit() }
        expArguments += [0, -0.0, .nan, .infinity, -.infinity, 709.782712893384, 709.7827128933841, -745.1332191019411,
                         -745.1332191019412, -708.3964185322641, 1e-20, -1e-20]
        func bits<Scalar: BinaryFloatingPoint>(_ values: [Scalar]) -> [UInt64] {
            values.map { UInt64(truncatingIfNeeded: ($0 as? Double)?.bitPattern ?? UInt64(($0 as? Float)?.bitPattern ?? 0)) }
        }
        func check<Scalar: LinearAlgebraScalar>(_: Scalar.Type) {
            let psiIn = psiArguments.map { Scalar($0) }, expIn = expArguments.map { Scalar($0) }
            let results = Self.bothVariants { () -> [[UInt64]] in
                var psi = [Scalar](repeating: 0, count: psiIn.count), exp = [Scalar](repeating: 0, count: expIn.count)
                Scalar.digamma(count: psiIn.count, psiIn, out: &psi)
                Scalar.exponential(count: expIn.count, expIn, out: &exp)
                // One value at a time: the tail path must give a vector lane's bits.
                let lone = psiIn.prefix(9).map { x -> Scalar in
                    var out: Scalar = 0
                    Scalar.digamma(count: 1, [x], out: &out)
                    return out
                }
                var shifted = [Scalar](repeating: 0, count: 3 * 7)
                Scalar.digammaColumns(k: 7, columns: 3, Array(psiIn.prefix(21)), shifts: [0, 1, 2, 3, 4, 5, 6], out: &shifted)
                return [bits(psi), bits(exp), bits(lone), bits(shifted)]
            }
            #expect(results.portable == results.best, "ψ and exp \(Scalar.self): the two versions differ")
            #expect(results.best[2] == Array(results.best[0].prefix(9)), "ψ \(Scalar.self) of one value differs from a lane")
            var psi = [Scalar](repeating: 0, count: psiIn.count), exp = [Scalar](repeating: 0, count: expIn.count)
            Scalar.digamma(count: psiIn.count, psiIn, out: &psi)
            Scalar.exponential(count: expIn.count, expIn, out: &exp)
            var shifted = [Scalar](repeating: 0, count: 21)
            Scalar.digammaColumns(k: 7, columns: 3, Array(psiIn.prefix(21)), shifts: [0, 1, 2, 3, 4, 5, 6], out: &shifted)
            for j in 0..<21 {
                let expected = Scalar(Double(psi[j]) - Double(j % 7))
                #expect(Swift.abs(shifted[j] - expected) <= 4 * expected.ulp, "ψ − shift \(j)")
            }
            for (x, y) in zip(expIn, exp) {
                let reference = Scalar(Foundation.exp(Double(x)))
                if reference.isNaN { #expect(y.isNaN); continue }
                // One unit of the Float64 result, then rounded to the type: Float32 results
                // match the correctly rounded value except at a rounding boundary.
                #expect(y == reference || Swift.abs(y - reference) <= reference.ulp || reference < Scalar.leastNormalMagnitude * 4,
                        "e^\(x) = \(y), C library \(reference)")
            }
            for (x, y) in zip(psiIn, psi) where !(x > 0) {
                #expect(y.isNaN, "ψ(\(x)) = \(y), expected NaN")
            }
            if let infinite = psiIn.firstIndex(of: .infinity) { #expect(psi[infinite] == .infinity) }
        }
        check(Double.self)
        check(Float.self)
        // Float32 computes ψ in single precision, as gensim does for Float32 models: within
        // 1e-6 of the Float64 value (relative, or absolute below 1), over every regime.
        let positive = psiArguments.filter { $0 > 0 && $0.isFinite && Float($0) >= Float.leastNormalMagnitude }
        let singles = positive.map { Float($0) }
        var single = [Float](repeating: 0, count: singles.count), double = [Double](repeating: 0, count: singles.count)
        Float.digamma(count: singles.count, singles, out: &single)
        Double.digamma(count: singles.count, singles.map { Double($0) }, out: &double)
        for (x, (y, reference)) in zip(singles, zip(single, double)) {
            #expect(Swift.abs(Double(y) - reference) <= 1e-6 * Swift.max(1, Swift.abs(reference)),
                    "Float32 ψ(\(x)) = \(y), Float64 \(reference)")
        }
    }

    @Test("the E-step of one LDA document: the same bits in both versions, and a plain Float64 loop's γ to 1e-12")
    func ldaDocument() {
        for (k, n) in [(1, 1), (5, 3), (8, 40), (33, 7), (100, 150), (16, 9)] {
            var generator = SeededGenerator(seed: UInt64(k * 31 + n))
            // The matrix has more columns than the document uses; the document reads them in reverse.
            let beta = (0..<(k * (n + 3))).map { _ in 0.001 + generator.nextOpenUnit() / Double(n) }
            let counts = (0..<n).map { _ in Double(1 + generator.next() % 4) }
            let alpha = (0..<k).map { _ in 0.5 / Double(k) + 0.01 * generator.nextOpenUnit() }
            let start = (0..<k).map { _ in 0.5 + generator.nextOpenUnit() }
            let termIDs = (0..<n).map { Int32(n + 2 - $0) }
            func run<Scalar: LinearAlgebraScalar>(_: Scalar.Type) -> (gamma: [Scalar], weights: [Scalar], run: Int) {
                var gamma = start.map { Scalar($0) }
                var elogtheta = gamma, expElogtheta = gamma, lastGamma = gamma
                var phinorm = [Scalar](repeating: 0, count: n), weights = phinorm
                var scratch = [Scalar](repeating: .nan, count: Kernels.ldaScratchSize(topics: k, terms: n))
                let result = Scalar.ldaDocument(
                    k: k, n: n, matrix: beta.map { Scalar($0) }, ids: termIDs, counts: counts.map { Scalar($0) },
                    alpha: alpha.map { Scalar($0) }, iterations: 200, threshold: Scalar(1e-9), epsilon: Scalar.ulpOfOne,
                    gamma: &gamma, elogtheta: &elogtheta, expElogtheta: &expElogtheta, phinorm: &phinorm,
                    weights: &weights, lastGamma: &lastGamma, scratch: &scratch)
                return (gamma, weights, result)
            }
            let double = Self.bothVariants { run(Double.self) }
            #expect(double.portable.gamma == double.best.gamma && double.portable.weights == double.best.weights
                    && double.portable.run == double.best.run, "k \(k) n \(n), Float64")
            let single = Self.bothVariants { run(Float.self) }
            #expect(single.portable.gamma == single.best.gamma && single.portable.weights == single.best.weights,
                    "k \(k) n \(n), Float32")
            // The same iterations written out plainly with the C library's exp and a
            // SciPy-checked ψ (LDAModelTests), in Float64.
            func psi(_ x: Double) -> Double {
                var x = x, shift = 0.0
                while x < 10 { shift -= 1 / x; x += 1 }
                let r2 = 1 / (x * x)
                return shift + Foundation.log(x) - 0.5 / x
                    - r2 * (1.0 / 12 - r2 * (1.0 / 120 - r2 * (1.0 / 252 - r2 * (1.0 / 240 - r2 * (1.0 / 132
                    - r2 * (691.0 / 32760 - r2 / 12))))))
            }
            var gamma = start, iterations = 0, converged = false
            func theta() -> ([Double], [Double]) {
                let psiSum = psi(gamma.reduce(0, +))
                let expElogtheta = gamma.map { Foundation.exp(psi($0) - psiSum) }
                var phinorm = [Double](repeating: .ulpOfOne, count: n)
                for j in 0..<n {
                    var sum = 0.0
                    for i in 0..<k { sum += expElogtheta[i] * beta[Int(termIDs[j]) * k + i] }
                    phinorm[j] = sum + .ulpOfOne
                }
                return (expElogtheta, phinorm)
            }
            var (expElogtheta, phinorm) = theta()
            while iterations < 200 {
                iterations += 1
                let last = gamma
                for i in 0..<k {
                    var sum = 0.0
                    for j in 0..<n { sum += counts[j] / phinorm[j] * beta[Int(termIDs[j]) * k + i] }
                    gamma[i] = alpha[i] + expElogtheta[i] * sum
                }
                (expElogtheta, phinorm) = theta()
                var change = 0.0
                for i in 0..<k { change += Swift.abs(gamma[i] - last[i]) }
                if change / Double(k) < 1e-9 {
                    converged = true
                    break
                }
            }
            #expect(double.best.run == (converged ? iterations : -iterations),
                    "k \(k) n \(n): \(double.best.run) iterations, the plain loop \(iterations) (converged: \(converged))")
            for i in 0..<k {
                #expect(Swift.abs(double.best.gamma[i] - gamma[i]) <= 1e-12 * gamma[i], "k \(k) n \(n): γ\(i) \(double.best.gamma[i]) against \(gamma[i])")
            }
        }
    }
}
