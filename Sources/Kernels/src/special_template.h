// ψ, ln and exp of a vector of values, written once over the D_ operations that kernels.c
// defines for each variant (one lane for the portable one, four doubles or eight floats for
// AVX2) and each precision: D_T is double or float, and DSINGLE is 1 for float. Every lane goes
// through the same operations in the same order whatever the variant, so the results are
// bit-identical between variants, and between a lone value and a lane of a vector.
//
// Accuracy, in the precision's own units: ln and exp within about one unit in the last place;
// ψ within a few (it adds the recurrence's sum, ln x and the asymptotic series). The float
// forms do as gensim does for Float32 models, which computes ψ and exp in single precision;
// they need fewer terms and recurrence steps, and run on twice the lanes.

#if DSINGLE
// ln 2 in two parts for float: the first has trailing zero bits, so e or n (|e|, |n| < 256)
// times it is exact.
#define D_LN2_HIGH 6.93145751953125e-01
#define D_LN2_LOW 1.42860676533018e-06
// ln's series to s¹⁰ (|s| < 0.172: the next term is below 1e-10 of the result).
#define D_LOG_TERMS 5
// ψ's recurrence up to x ≥ 6, then its series to x⁻⁶ (the next term is below 3e-9).
#define D_PSI_MINIMUM 6.0
#define D_PSI_TERMS 3
// exp's Taylor series to r⁷ (|r| ≤ ½ ln 2: the next term is below 6e-9).
#define D_EXP_TERMS 7
// The largest x with a finite float e^x, and a value below which e^x rounds to 0.
#define D_EXP_HIGH 88.72283935546875
#define D_EXP_LOW (-104.0)
#else
#define D_LN2_HIGH 6.93147180369123816490e-01
#define D_LN2_LOW 1.90821492927058770002e-10
// ln's series to s²² (|s| < 0.172: the next term is below 1e-18).
#define D_LOG_TERMS 11
// ψ's recurrence up to x ≥ 10, then its series to x⁻¹⁴.
#define D_PSI_MINIMUM 10.0
#define D_PSI_TERMS 7
// exp's Taylor series to r¹³ (the next term is below 5e-18).
#define D_EXP_TERMS 13
#define D_EXP_HIGH 709.782712893383973096
#define D_EXP_LOW (-746.0)
#endif

// ln x for a normal, positive, finite x. With x = 2^e m, m in (√½, √2]: ln m = ln(1 + f) =
// 2 atanh(s), s = f / (2 + f), as f − (½f² − s(½f² + R(s²))) with R the Taylor series of
// 2 atanh(s)/s − 2 from its s² term, kept to D_LOG_TERMS terms.
ATTRIBUTES inline DVEC DNAME(log_v)(DVEC x) {
    DVEC e, m;
    D_SPLIT(x, e, m);
    DMASK over = D_LT(D_SPLAT(1.41421356237309504880), m);
    m = D_SELECT(over, D_MUL(m, D_SPLAT(0.5)), m);
    e = D_SELECT(over, D_ADD(e, D_SPLAT(1.0)), e);
    DVEC f = D_SUB(m, D_SPLAT(1.0));
    DVEC s = D_DIV(f, D_ADD(D_SPLAT(2.0), f));
    DVEC z = D_MUL(s, s);
    DVEC r = D_SPLAT(2.0 / (2 * D_LOG_TERMS + 1));
    for (int term = D_LOG_TERMS - 1; term >= 1; term--) r = D_ADD(D_MUL(r, z), D_SPLAT(2.0 / (2 * term + 1)));
    r = D_MUL(r, z);
    DVEC half_square = D_MUL(D_SPLAT(0.5), D_MUL(f, f));
    DVEC high = D_MUL(e, D_SPLAT(D_LN2_HIGH));
    DVEC low = D_MUL(e, D_SPLAT(D_LN2_LOW));
    return D_SUB(high, D_SUB(D_SUB(half_square, D_ADD(D_MUL(s, D_ADD(half_square, r)), low)), f));
}

// ψ(x) for x > 0 finite: ψ(x) = ψ(x + m) − Σ 1/(x + i), the sum kept as one fraction p/q
// (lane by lane, until x + m ≥ D_PSI_MINIMUM), then the asymptotic series at x + m:
// ln x − 1/(2x) − Σ B₂ₖ / (2k x²ᵏ), k = 1...D_PSI_TERMS.
ATTRIBUTES inline DVEC DNAME(digamma_v)(DVEC x) {
    static const double coefficients[7] = {
        1.0 / 12, 1.0 / 120, 1.0 / 252, 1.0 / 240, 1.0 / 132, 691.0 / 32760, 1.0 / 12,
    };
    DVEC p = D_SPLAT(0.0), q = D_SPLAT(1.0);
    for (int step = 0; step < (int)D_PSI_MINIMUM; step++) {
        DMASK small = D_LT(x, D_SPLAT(D_PSI_MINIMUM));
        if (!D_ANY(small)) break;
        p = D_SELECT(small, D_ADD(D_MUL(p, x), q), p);
        q = D_SELECT(small, D_MUL(q, x), q);
        x = D_SELECT(small, D_ADD(x, D_SPLAT(1.0)), x);
    }
    DVEC shift = D_DIV(D_SUB(D_SPLAT(0.0), p), q);
    DVEC r = D_DIV(D_SPLAT(1.0), x), r2 = D_MUL(r, r);
    DVEC series = D_SPLAT(coefficients[D_PSI_TERMS - 1]);
    for (int term = D_PSI_TERMS - 2; term >= 0; term--)
        series = D_SUB(D_SPLAT(coefficients[term]), D_MUL(r2, series));
    series = D_MUL(r2, series);
    return D_SUB(D_SUB(D_ADD(shift, DNAME(log_v)(x)), D_MUL(D_SPLAT(0.5), r)), series);
}

// e^x for x in [D_EXP_LOW, D_EXP_HIGH] (callers clamp): x = n ln 2 + r, |r| ≤ ½ ln 2, e^r by
// its Taylor series to D_EXP_TERMS terms, scaled by 2^n in two halves so that results below
// the normal range are rounded once.
ATTRIBUTES inline DVEC DNAME(exp_v)(DVEC x) {
    DVEC n = D_ROUND(D_MUL(x, D_SPLAT(1.44269504088896338700)));
    DVEC r = D_SUB(D_SUB(x, D_MUL(n, D_SPLAT(D_LN2_HIGH))), D_MUL(n, D_SPLAT(D_LN2_LOW)));
    static const double inverse_factorials[14] = {
        1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320,
        1.0 / 362880, 1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800.0,
    };
    DVEC p = D_SPLAT(inverse_factorials[D_EXP_TERMS]);
    for (int i = D_EXP_TERMS - 1; i >= 0; i--) p = D_ADD(D_MUL(p, r), D_SPLAT(inverse_factorials[i]));
    DVEC first = D_ROUND(D_MUL(n, D_SPLAT(0.5)));
    return D_MUL(D_MUL(p, D_POW2(first)), D_POW2(D_SUB(n, first)));
}

// The arguments the vector forms do not take (ψ of 0, negatives, NaN and +inf; e^x of NaN and
// of x above the limit), with their values.
static inline int DNAME(digamma_is_special)(D_T x) { return !(x > 0) || x == INFINITY; }
static inline D_T DNAME(digamma_special)(D_T x) { return x == INFINITY ? INFINITY : NAN; }
static inline int DNAME(exp_is_special)(D_T x) { return x != x || x > (D_T)D_EXP_HIGH; }
static inline D_T DNAME(exp_special)(D_T x) { return x != x ? x : INFINITY; }

// e^x with x clamped into exp_v's range; the lanes above it are set to +inf by the callers'
// fix-up, and NaN stays NaN there too.
ATTRIBUTES inline DVEC DNAME(exp_clamped_v)(DVEC x) {
    DVEC low = D_SPLAT(D_EXP_LOW), high = D_SPLAT(D_EXP_HIGH);
    x = D_SELECT(D_LT(x, low), low, x);
    x = D_SELECT(D_LT(high, x), high, x);
    return DNAME(exp_v)(x);
}

// ψ(x) of one value, any x (the first lane of a vector, so the same bits as in a vector).
ATTRIBUTES inline D_T DNAME(digamma_one)(D_T x) {
    if (DNAME(digamma_is_special)(x)) return DNAME(digamma_special)(x);
    D_T values[DLANES];
    for (int l = 0; l < DLANES; l++) values[l] = x;
    D_STORE(values, DNAME(digamma_v)(D_LOAD(values)));
    return values[0];
}
