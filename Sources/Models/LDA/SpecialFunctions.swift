#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LatentLinearAlgebra

/// The special functions of variational LDA, in Float64 whatever the model's precision:
/// ψ (digamma) and ψ' (trigamma) by recurrence up to 10 and then their asymptotic series
/// (ψ within 2e-15 · max(1, |ψ(x)|) for every positive argument, from the C kernels, which
/// also compute it on vectors); ln Γ from the C library (re-entrant form). gensim computes ψ
/// in the model's own type with a shorter series (cut at 8.5); the two agree to about 1e-13.
public enum SpecialFunctions {
    /// ψ(x) = d/dx ln Γ(x), for x > 0 (NaN otherwise): the kernels' routine (LatentKernels.h),
    /// so that values computed here and on vectors inside the kernels agree bit for bit.
    public static func digamma(_ x: Double) -> Double {
        var value = x, result = 0.0
        Double.digamma(count: 1, &value, out: &result)
        return result
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
}
