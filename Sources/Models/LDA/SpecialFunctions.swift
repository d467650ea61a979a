#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The special functions of variational LDA, in Float64 whatever the model's precision:
/// ψ (digamma) and ψ' (trigamma) by recurrence up to 10 and then their asymptotic series,
/// accurate to a few units in the last place for every positive argument; ln Γ from the C
/// library (re-entrant form). gensim computes ψ in the model's own type with a shorter
/// series (cut at 8.5); the two agree to about 1e-13.
public enum SpecialFunctions {
    /// ψ(x) = d/dx ln Γ(x), for x > 0 (NaN otherwise).
    public static func digamma(_ x: Double) -> Double {
        guard x > 0, x.isFinite else { return x == .infinity ? .infinity : .nan }
        // ψ(x) = ψ(x + m) − Σ 1/(x + i): the sum kept as one fraction p/q, so the recurrence
        // costs one division instead of m (this runs topics times per E-step iteration).
        var x = x
        var p = 0.0, q = 1.0
        while x < 10 {
            p = p * x + q
            q *= x
            x += 1
        }
        let shift = -p / q
        let r = 1 / x, r2 = r * r
        // ln x − 1/(2x) − Σ B₂ₖ / (2k x²ᵏ), k = 1...7.
        let series = r2 * (1.0 / 12 - r2 * (1.0 / 120 - r2 * (1.0 / 252 - r2 * (1.0 / 240 - r2 * (1.0 / 132
            - r2 * (691.0 / 32760 - r2 * (1.0 / 12)))))))
        return shift + log(x) - 0.5 * r - series
    }

    /// ψ'(x), for x > 0 (NaN otherwise).
    public static func trigamma(_ x: Double) -> Double {
        guard x > 0, x.isFinite else { return x == .infinity ? 0 : .nan }
        var x = x
        var shift = 0.0
        while x < 10 {
            shift += 1 / (x * x)
            x += 1
        }
        let r = 1 / x, r2 = r * r
        // 1/x + 1/(2x²) + Σ B₂ₖ / x²ᵏ⁺¹, k = 1...7.
        let series = r * (1 + r * (0.5 + r * (1.0 / 6 - r2 * (1.0 / 30 - r2 * (1.0 / 42 - r2 * (1.0 / 30
            - r2 * (5.0 / 66 - r2 * (691.0 / 2730 - r2 * (7.0 / 6)))))))))
        return shift + series
    }

    /// ln |Γ(x)|.
    public static func logGamma(_ x: Double) -> Double {
        var sign: Int32 = 0
        return lgamma_r(x, &sign)
    }

    /// E[ln θ] for θ ~ Dirichlet(`parameters`): ψ(aᵢ) − ψ(Σa), written to `out`.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    static func dirichletExpectation<Scalar: BinaryFloatingPoint>(
        _ parameters: UnsafeBufferPointer<Scalar>, into out: UnsafeMutableBufferPointer<Scalar>
    ) {
        var sum: Scalar = 0
        for value in parameters { sum += value }
        let psiSum = digamma(Double(sum))
        for i in parameters.indices { out[i] = Scalar(digamma(Double(parameters[i])) - psiSum) }
    }
}
