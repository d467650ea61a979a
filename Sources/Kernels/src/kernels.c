// Instantiates kernel_template.h for Float64 and Float32, portable and (on x86-64) AVX2,
// and picks between them at run time. See LatentKernels.h.
#include "LatentKernels.h"

// A multiply followed by an add is never fused into one rounding: results must not depend
// on the variant, nor on the compiler's choices.
#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include "half.h"

// The bit-level steps of the portable special functions (special_template.h), in double and
// in float: rounding to the nearest integer, 2^n for an integral n in the normal range of exponents (n + 2^BITS + BIAS holds
// n + BIAS in its low bits, shifted into the exponent field), and x = 2^e m with m in [1, 2)
// for a normal positive x. U: the unsigned integer of T's size; BITS: T's significand bits;
// BIAS: its exponent's bias.
#define PORTABLE_BITS(T, U, suffix, BITS, BIAS, ROUND) \
    static inline T portable_round##suffix(T x) { return ROUND(x); } \
    static inline T portable_pow2##suffix(T n) { \
        T biased = n + ((T)((U)1 << BITS) + BIAS); \
        U bits; \
        memcpy(&bits, &biased, sizeof bits); \
        bits <<= BITS; \
        T result; \
        memcpy(&result, &bits, sizeof result); \
        return result; \
    } \
    static inline void portable_split##suffix(T x, T *e, T *m) { \
        U bits; \
        memcpy(&bits, &x, sizeof bits); \
        *e = (T)(bits >> BITS) - BIAS; \
        bits = (bits & (((U)1 << BITS) - 1)) | ((U)BIAS << BITS); \
        memcpy(m, &bits, sizeof bits); \
    }

PORTABLE_BITS(double, uint64_t, , 52, 1023, nearbyint)
PORTABLE_BITS(float, uint32_t, _single, 23, 127, nearbyintf)

intptr_t latent_lda_column_stride(intptr_t k) { return (k + 7) / 8 * 8; }

intptr_t latent_lda_scratch_size(intptr_t k, intptr_t n) { return 2 * latent_lda_column_stride(k) + 8 * n; }

// The sum of 8 partial sums in the tree every variant uses: ((p0 + p4) + (p1 + p5)) + ((p2 +
// p6) + (p3 + p7)); `a` holds them as 8 / LANES vectors.
#define PORTABLE_SUM8(a) ((((a)[0] + (a)[4]) + ((a)[1] + (a)[5])) + (((a)[2] + (a)[6]) + ((a)[3] + (a)[7])))

#if defined(__x86_64__)
__attribute__((target("avx2,f16c"))) static inline float avx2_sum8_f32(const __m256 *a) {
    __m128 folded = _mm_add_ps(_mm256_castps256_ps128(a[0]), _mm256_extractf128_ps(a[0], 1));
    __m128 pairs = _mm_hadd_ps(folded, folded);
    return _mm_cvtss_f32(_mm_add_ss(pairs, _mm_movehdup_ps(pairs)));
}

__attribute__((target("avx2,f16c"))) static inline double avx2_sum8_f64(const __m256d *a) {
    __m256d folded = _mm256_add_pd(a[0], a[1]);
    __m128d pairs = _mm_hadd_pd(_mm256_castpd256_pd128(folded), _mm256_extractf128_pd(folded, 1));
    return _mm_cvtsd_f64(_mm_add_sd(pairs, _mm_unpackhi_pd(pairs, pairs)));
}
#endif

// Portable: one scalar per "vector"; the compiler vectorizes what it can. The special
// functions' operations are those of D_T, one lane; DPORTABLE names the bit-level steps of
// the precision.
#define ATTRIBUTES static
#define D_SPLAT(x) ((D_T)(x))
#define D_LOAD(p) (*(p))
#define D_STORE(p, v) (*(p) = (v))
#define D_ADD(a, b) ((a) + (b))
#define D_SUB(a, b) ((a) - (b))
#define D_MUL(a, b) ((a) * (b))
#define D_DIV(a, b) ((a) / (b))
#define D_LT(a, b) ((a) < (b))
#define D_SELECT(mask, a, b) ((mask) ? (a) : (b))
#define D_ANY(mask) (mask)
#define D_ROUND(a) DPORTABLE(round)(a)
#define D_POW2(n) DPORTABLE(pow2)(n)
#define D_SPLIT(x, e, m) DPORTABLE(split)((x), &(e), &(m))

#define D_T double
#define DSINGLE 0
#define DVEC double
#define DMASK int
#define DLANES 1
#define DNAME(stem) portable_##stem##_double
#define DPORTABLE(stem) portable_##stem
#include "special_template.h"
#define SCALAR double
#define PANEL_HEIGHT LATENT_PANEL_HEIGHT_F64
#define VECTOR double
#define NAME(stem) portable_##stem##_f64
#define LANES 1
#define V_ZERO() 0
#define V_SPLAT(x) (x)
#define V_LOAD(p) (*(p))
#define V_STORE(p, v) (*(p) = (v))
#define V_ADD(a, b) ((a) + (b))
#define V_MUL(a, b) ((a) * (b))
#define V_SUM8(a) PORTABLE_SUM8(a)
#define V_LOAD_FLOATS(p) ((double)*(p))
#define V_LOAD_HALVES(p) ((double)float_from_half(*(p)))
#include "kernel_template.h"
#include "lda_template.h"
#include "variant_end.h"
#include "special_end.h"

#define D_T float
#define DSINGLE 1
#define DVEC float
#define DMASK int
#define DLANES 1
#define DNAME(stem) portable_##stem##_single
#define DPORTABLE(stem) portable_##stem##_single
#include "special_template.h"
#define SCALAR float
#define PANEL_HEIGHT LATENT_PANEL_HEIGHT_F32
#define NARROW_PANEL_HEIGHT LATENT_PANEL_HEIGHT_F64
#define VECTOR float
#define NAME(stem) portable_##stem##_f32
#define LANES 1
#define V_ZERO() 0
#define V_SPLAT(x) (x)
#define V_LOAD(p) (*(p))
#define V_STORE(p, v) (*(p) = (v))
#define V_ADD(a, b) ((a) + (b))
#define V_MUL(a, b) ((a) * (b))
#define V_SUM8(a) PORTABLE_SUM8(a)
#define V_LOAD_HALVES(p) float_from_half(*(p))
#include "kernel_template.h"
#include "lda_template.h"
#include "variant_end.h"
#include "special_end.h"
#include "operations_end.h"
#undef ATTRIBUTES

#if defined(__x86_64__)
#define ATTRIBUTES static __attribute__((target("avx2,f16c")))

// AVX2's operations for the special functions, once for both precisions: DSUF names the
// intrinsics' type (pd or ps), DINT the integer lanes of the same width (epi64 or epi32),
// DSET1 how to splat an integer into them, DBITS and DBIAS the significand's bits and the
// exponent's bias.
#define AVX2_NAME(stem, suffix) _mm256_##stem##_##suffix
#define AVX2_OP(stem, suffix) AVX2_NAME(stem, suffix)
#define AVX2_TO_INTEGERS_NAME(suffix) _mm256_cast##suffix##_si256
#define AVX2_TO_INTEGERS(suffix) AVX2_TO_INTEGERS_NAME(suffix)
#define D_SPLAT(x) AVX2_OP(set1, DSUF)(x)
#define D_LOAD(p) AVX2_OP(loadu, DSUF)(p)
#define D_STORE(p, v) AVX2_OP(storeu, DSUF)((p), (v))
#define D_ADD(a, b) AVX2_OP(add, DSUF)((a), (b))
#define D_SUB(a, b) AVX2_OP(sub, DSUF)((a), (b))
#define D_MUL(a, b) AVX2_OP(mul, DSUF)((a), (b))
#define D_DIV(a, b) AVX2_OP(div, DSUF)((a), (b))
#define D_LT(a, b) AVX2_OP(cmp, DSUF)((a), (b), _CMP_LT_OQ)
#define D_SELECT(mask, a, b) AVX2_OP(blendv, DSUF)((b), (a), (mask))
#define D_ANY(mask) AVX2_OP(movemask, DSUF)(mask)
#define D_ROUND(a) AVX2_OP(round, DSUF)((a), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
// 2^n: n + 2^DBITS + DBIAS holds n + DBIAS in its low bits; shifted into the exponent field.
#define D_POW2(n) AVX2_OP(castsi256, DSUF)(AVX2_OP(slli, DINT)( \
    AVX2_TO_INTEGERS(DSUF)(D_ADD((n), D_SPLAT((D_T)((DUNSIGNED)1 << DBITS) + DBIAS))), DBITS))
// e: the biased exponent placed in the low bits of 2^DBITS, minus 2^DBITS + DBIAS; m: x's
// significand with the exponent of 1.
#define D_SPLIT(x, e, m) do { \
    __m256i bits_ = AVX2_TO_INTEGERS(DSUF)(x); \
    (e) = D_SUB(AVX2_OP(castsi256, DSUF)(_mm256_or_si256(AVX2_OP(srli, DINT)(bits_, DBITS), \
        AVX2_TO_INTEGERS(DSUF)(D_SPLAT((D_T)((DUNSIGNED)1 << DBITS))))), D_SPLAT((D_T)((DUNSIGNED)1 << DBITS) + DBIAS)); \
    (m) = AVX2_OP(castsi256, DSUF)(_mm256_or_si256(_mm256_and_si256(bits_, DSET1((((DUNSIGNED)1 << DBITS) - 1))), \
        DSET1(((DUNSIGNED)DBIAS << DBITS)))); \
} while (0)

#define D_T double
#define DSINGLE 0
#define DVEC __m256d
#define DMASK __m256d
#define DLANES 4
#define DNAME(stem) avx2_##stem##_double
#define DSUF pd
#define DINT epi64
#define DSET1(x) _mm256_set1_epi64x((long long)(x))
#define DUNSIGNED uint64_t
#define DBITS 52
#define DBIAS 1023
#include "special_template.h"
#define SCALAR double
#define PANEL_HEIGHT LATENT_PANEL_HEIGHT_F64
#define VECTOR __m256d
#define NAME(stem) avx2_##stem##_f64
#define LANES 4
#define V_ZERO() _mm256_setzero_pd()
#define V_SPLAT(x) _mm256_set1_pd(x)
#define V_LOAD(p) _mm256_loadu_pd(p)
#define V_STORE(p, v) _mm256_storeu_pd((p), (v))
#define V_ADD(a, b) _mm256_add_pd((a), (b))
#define V_MUL(a, b) _mm256_mul_pd((a), (b))
#define V_SUM8(a) avx2_sum8_f64(a)
#define V_LOAD_FLOATS(p) _mm256_cvtps_pd(_mm_loadu_ps(p))
#define V_LOAD_HALVES(p) _mm256_cvtps_pd(_mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)(p))))
#include "kernel_template.h"
#include "lda_template.h"
#include "variant_end.h"
#include "special_end.h"

#define D_T float
#define DSINGLE 1
#define DVEC __m256
#define DMASK __m256
#define DLANES 8
#define DNAME(stem) avx2_##stem##_single
#define DSUF ps
#define DINT epi32
#define DSET1(x) _mm256_set1_epi32((int)(x))
#define DUNSIGNED uint32_t
#define DBITS 23
#define DBIAS 127
#include "special_template.h"
#define SCALAR float
#define PANEL_HEIGHT LATENT_PANEL_HEIGHT_F32
#define NARROW_PANEL_HEIGHT LATENT_PANEL_HEIGHT_F64
#define VECTOR __m256
#define NAME(stem) avx2_##stem##_f32
#define LANES 8
#define V_ZERO() _mm256_setzero_ps()
#define V_SPLAT(x) _mm256_set1_ps(x)
#define V_LOAD(p) _mm256_loadu_ps(p)
#define V_STORE(p, v) _mm256_storeu_ps((p), (v))
#define V_ADD(a, b) _mm256_add_ps((a), (b))
#define V_MUL(a, b) _mm256_mul_ps((a), (b))
#define V_SUM8(a) avx2_sum8_f32(a)
#define V_LOAD_HALVES(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))
#include "kernel_template.h"
#include "lda_template.h"
#include "variant_end.h"
#include "special_end.h"
#include "operations_end.h"
#undef ATTRIBUTES
#endif

#include <stdatomic.h>

// -1 until first asked; then 1 when the AVX2 versions run, 0 when not.
static _Atomic int use_avx2 = -1;

static int cpu_has_avx2(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    // F16C (half-precision conversions) came with or before AVX2 on every x86-64 CPU.
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c") ? 1 : 0;
#else
    return 0;
#endif
}

int latent_kernels_avx2(void) {
    int answer = atomic_load_explicit(&use_avx2, memory_order_relaxed);
    if (answer < 0) {
        answer = cpu_has_avx2();
        atomic_store_explicit(&use_avx2, answer, memory_order_relaxed);
    }
    return answer;
}

int latent_kernels_use_avx2(int use) {
    int answer = use && cpu_has_avx2();
    atomic_store_explicit(&use_avx2, answer, memory_order_relaxed);
    return answer;
}

#if defined(__x86_64__)
#define DISPATCH(stem, suffix, ...) \
    if (latent_kernels_avx2()) avx2_##stem##_##suffix(__VA_ARGS__); else portable_##stem##_##suffix(__VA_ARGS__)
#else
#define DISPATCH(stem, suffix, ...) portable_##stem##_##suffix(__VA_ARGS__)
#endif

#define GATHER_BLOCK(stem, suffix, PACKED, SCALAR) \
    void latent_##stem##_##suffix(const PACKED *packed, intptr_t first, intptr_t last, intptr_t rows, intptr_t top, \
                                  const intptr_t *starts, const int32_t *indices, const SCALAR *values, SCALAR *out, \
                                  intptr_t j0, intptr_t j1, intptr_t *cursor, const SCALAR *unscale) { \
        DISPATCH(stem, suffix, packed, first, last, rows, top, starts, indices, values, out, j0, j1, cursor, unscale); \
    }

GATHER_BLOCK(gather_block, f64, double, double)
GATHER_BLOCK(gather_block_floats, f64, float, double)
GATHER_BLOCK(gather_block_halves, f64, uint16_t, double)
GATHER_BLOCK(gather_block, f32, float, float)
GATHER_BLOCK(gather_block_halves, f32, uint16_t, float)

// Packing copies: columns first..<last of rows top..<top+h of D (h = min(height, rows -
// top)) into `height` values per column, zero below h. Plain copies need no vector code.
#define PACK_COPY(suffix, T) \
    void latent_pack_panel_##suffix(const T *dense, intptr_t rows, intptr_t top, intptr_t height, intptr_t first, \
                                    intptr_t last, T *packed) { \
        intptr_t h = rows - top < height ? rows - top : height; \
        for (intptr_t i = first; i < last; i++) { \
            const T *source = dense + top + i * rows; \
            T *target = packed + (i - first) * height; \
            for (intptr_t t = 0; t < h; t++) target[t] = source[t]; \
            for (intptr_t t = h; t < height; t++) target[t] = 0; \
        } \
    }

PACK_COPY(f64, double)
PACK_COPY(f32, float)

// The half-precision panel: each value times its row's scale (a power of two, so exact),
// rounded to the nearest half, ties to even. F16C rounds the same way as half_from_float.
static void portable_pack_panel_halves(const float *dense, intptr_t rows, intptr_t top, intptr_t height, intptr_t first,
                                       intptr_t last, const float *scales, uint16_t *packed) {
    intptr_t h = rows - top < height ? rows - top : height;
    for (intptr_t i = first; i < last; i++) {
        const float *source = dense + top + i * rows;
        uint16_t *target = packed + (i - first) * height;
        for (intptr_t t = 0; t < h; t++) target[t] = half_from_float(source[t] * scales[t]);
        for (intptr_t t = h; t < height; t++) target[t] = 0;
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2,f16c"))) static void avx2_pack_panel_halves(const float *dense, intptr_t rows, intptr_t top,
                                                                        intptr_t height, intptr_t first, intptr_t last,
                                                                        const float *scales, uint16_t *packed) {
    intptr_t h = rows - top < height ? rows - top : height;
    intptr_t vectors = h - h % 8;
    for (intptr_t i = first; i < last; i++) {
        const float *source = dense + top + i * rows;
        uint16_t *target = packed + (i - first) * height;
        for (intptr_t t = 0; t < vectors; t += 8) {
            __m256 scaled = _mm256_mul_ps(_mm256_loadu_ps(source + t), _mm256_loadu_ps(scales + t));
            _mm_storeu_si128((__m128i *)(target + t), _mm256_cvtps_ph(scaled, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        }
        for (intptr_t t = vectors; t < h; t++) target[t] = half_from_float(source[t] * scales[t]);
        for (intptr_t t = h; t < height; t++) target[t] = 0;
    }
}
#endif

void latent_pack_panel_halves(const float *dense, intptr_t rows, intptr_t top, intptr_t height, intptr_t first,
                              intptr_t last, const float *scales, uint16_t *packed) {
#if defined(__x86_64__)
    if (latent_kernels_avx2()) {
        avx2_pack_panel_halves(dense, rows, top, height, first, last, scales, packed);
        return;
    }
#endif
    portable_pack_panel_halves(dense, rows, top, height, first, last, scales, packed);
}

void latent_row_magnitudes_f32(const float *dense, intptr_t rows, intptr_t first, intptr_t last, float *maxima) {
    for (intptr_t i = first; i < last; i++) {
        const float *column = dense + i * rows;
        for (intptr_t t = 0; t < rows; t++) {
            float magnitude = fabsf(column[t]);
            maxima[t] = magnitude > maxima[t] ? magnitude : maxima[t];
        }
    }
}

void latent_scatter_panel_f64(const double *dense, intptr_t rows, intptr_t p, intptr_t q,
                              const intptr_t *starts, const int32_t *indices, const double *values,
                              double *out, intptr_t top, double *accumulator, intptr_t block, intptr_t *cursor) {
    DISPATCH(scatter_panel, f64, dense, rows, p, q, starts, indices, values, out, top, accumulator, block, cursor);
}

void latent_scatter_panel_f32(const float *dense, intptr_t rows, intptr_t p, intptr_t q,
                              const intptr_t *starts, const int32_t *indices, const float *values,
                              float *out, intptr_t top, float *accumulator, intptr_t block, intptr_t *cursor) {
    DISPATCH(scatter_panel, f32, dense, rows, p, q, starts, indices, values, out, top, accumulator, block, cursor);
}

void latent_scatter_panel_narrow_f32(const float *dense, intptr_t rows, intptr_t p, intptr_t q,
                                     const intptr_t *starts, const int32_t *indices, const float *values,
                                     float *out, intptr_t top, float *accumulator, intptr_t block, intptr_t *cursor) {
    DISPATCH(scatter_panel_narrow, f32, dense, rows, p, q, starts, indices, values, out, top, accumulator, block, cursor);
}

void latent_sign_product_f64(intptr_t r, intptr_t per_column, const int32_t *sign_rows, const double *sign_values,
                             const intptr_t *starts, const int32_t *indices, const double *values,
                             double *out, intptr_t first, intptr_t last) {
    DISPATCH(sign_product, f64, r, per_column, sign_rows, sign_values, starts, indices, values, out, first, last);
}

void latent_sign_product_f32(intptr_t r, intptr_t per_column, const int32_t *sign_rows, const float *sign_values,
                             const intptr_t *starts, const int32_t *indices, const float *values,
                             float *out, intptr_t first, intptr_t last) {
    DISPATCH(sign_product, f32, r, per_column, sign_rows, sign_values, starts, indices, values, out, first, last);
}

void latent_gather_outer_f64(intptr_t k, intptr_t n, const int32_t *sources, const double *vectors, const double *weights,
                              double *out) {
    DISPATCH(gather_outer, f64, k, n, sources, vectors, weights, out);
}

void latent_gather_outer_f32(intptr_t k, intptr_t n, const int32_t *sources, const float *vectors, const float *weights,
                              float *out) {
    DISPATCH(gather_outer, f32, k, n, sources, vectors, weights, out);
}

#if defined(__x86_64__)
#define DISPATCH_RESULT(stem, suffix, ...) \
    (latent_kernels_avx2() ? avx2_##stem##_##suffix(__VA_ARGS__) : portable_##stem##_##suffix(__VA_ARGS__))
#else
#define DISPATCH_RESULT(stem, suffix, ...) portable_##stem##_##suffix(__VA_ARGS__)
#endif

#define LDA_KERNELS(SCALAR, suffix) \
    void latent_digamma_##suffix(intptr_t count, const SCALAR *x, SCALAR *out) { \
        DISPATCH(digamma, suffix, count, x, out); \
    } \
    void latent_digamma_columns_##suffix(intptr_t k, intptr_t columns, const SCALAR *x, const SCALAR *shifts, \
                                         SCALAR *out) { \
        DISPATCH(digamma_columns, suffix, k, columns, x, shifts, out); \
    } \
    void latent_exponential_##suffix(intptr_t count, const SCALAR *x, SCALAR *out) { \
        DISPATCH(exponential, suffix, count, x, out); \
    } \
    intptr_t latent_lda_document_##suffix(intptr_t k, intptr_t n, const SCALAR *matrix, const int32_t *ids, \
                                          const SCALAR *counts, const SCALAR *alpha, intptr_t iterations, \
                                          SCALAR threshold, SCALAR epsilon, SCALAR *gamma, SCALAR *elogtheta, \
                                          SCALAR *exp_elogtheta, SCALAR *phinorm, SCALAR *weights, \
                                          SCALAR *last_gamma, SCALAR *scratch) { \
        return DISPATCH_RESULT(lda_document, suffix, k, n, matrix, ids, counts, alpha, iterations, threshold, \
                               epsilon, gamma, elogtheta, exp_elogtheta, phinorm, weights, last_gamma, scratch); \
    }

LDA_KERNELS(double, f64)
LDA_KERNELS(float, f32)

// Prefetches: no arithmetic, so one version serves every CPU.
#define COLUMN_PREFETCH(SCALAR, suffix) \
    void latent_prefetch_columns_##suffix(intptr_t k, intptr_t n, const SCALAR *matrix, const int32_t *ids) { \
        for (intptr_t j = 0; j < n; j++) { \
            const char *column = (const char *)(matrix + (intptr_t)ids[j] * k); \
            for (intptr_t byte = 0; byte < k * (intptr_t)sizeof(SCALAR); byte += 64) __builtin_prefetch(column + byte, 0, 2); \
        } \
    }

COLUMN_PREFETCH(double, f64)
COLUMN_PREFETCH(float, f32)
