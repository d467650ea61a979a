// Instantiates kernel_template.h for Float64 and Float32, portable and (on x86-64) AVX2,
// and picks between them at run time. See LatentKernels.h.
#include "LatentKernels.h"

// A multiply followed by an add is never fused into one rounding: results must not depend
// on the variant, nor on the compiler's choices.
#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// Portable: one scalar per "vector"; the compiler vectorizes what it can.
#define ATTRIBUTES static

#define SCALAR double
#define VECTOR double
#define NAME(stem) portable_##stem##_f64
#define LANES 1
#define V_ZERO() 0
#define V_SPLAT(x) (x)
#define V_LOAD(p) (*(p))
#define V_STORE(p, v) (*(p) = (v))
#define V_ADD(a, b) ((a) + (b))
#define V_MUL(a, b) ((a) * (b))
#include "kernel_template.h"
#include "variant_end.h"

#define SCALAR float
#define VECTOR float
#define NAME(stem) portable_##stem##_f32
#define LANES 1
#define V_ZERO() 0
#define V_SPLAT(x) (x)
#define V_LOAD(p) (*(p))
#define V_STORE(p, v) (*(p) = (v))
#define V_ADD(a, b) ((a) + (b))
#define V_MUL(a, b) ((a) * (b))
#include "kernel_template.h"
#include "variant_end.h"
#undef ATTRIBUTES

#if defined(__x86_64__)
#define ATTRIBUTES static __attribute__((target("avx2")))

#define SCALAR double
#define VECTOR __m256d
#define NAME(stem) avx2_##stem##_f64
#define LANES 4
#define V_ZERO() _mm256_setzero_pd()
#define V_SPLAT(x) _mm256_set1_pd(x)
#define V_LOAD(p) _mm256_loadu_pd(p)
#define V_STORE(p, v) _mm256_storeu_pd((p), (v))
#define V_ADD(a, b) _mm256_add_pd((a), (b))
#define V_MUL(a, b) _mm256_mul_pd((a), (b))
#include "kernel_template.h"
#include "variant_end.h"

#define SCALAR float
#define VECTOR __m256
#define NAME(stem) avx2_##stem##_f32
#define LANES 8
#define V_ZERO() _mm256_setzero_ps()
#define V_SPLAT(x) _mm256_set1_ps(x)
#define V_LOAD(p) _mm256_loadu_ps(p)
#define V_STORE(p, v) _mm256_storeu_ps((p), (v))
#define V_ADD(a, b) _mm256_add_ps((a), (b))
#define V_MUL(a, b) _mm256_mul_ps((a), (b))
#include "kernel_template.h"
#include "variant_end.h"
#undef ATTRIBUTES
#endif

#include <stdatomic.h>

// -1 until first asked; then 1 when the AVX2 versions run, 0 when not.
static _Atomic int use_avx2 = -1;

static int cpu_has_avx2(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? 1 : 0;
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

void latent_gather_panel_f64(const double *dense, intptr_t rows, intptr_t p, intptr_t q,
                             const intptr_t *starts, const int32_t *indices, const double *values,
                             double *out, intptr_t top, double *packed, intptr_t block, intptr_t *cursor) {
    DISPATCH(gather_panel, f64, dense, rows, p, q, starts, indices, values, out, top, packed, block, cursor);
}

void latent_gather_panel_f32(const float *dense, intptr_t rows, intptr_t p, intptr_t q,
                             const intptr_t *starts, const int32_t *indices, const float *values,
                             float *out, intptr_t top, float *packed, intptr_t block, intptr_t *cursor) {
    DISPATCH(gather_panel, f32, dense, rows, p, q, starts, indices, values, out, top, packed, block, cursor);
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

void latent_weighted_column_sum_f64(intptr_t k, intptr_t n, const double *columns, const double *weights, double *out) {
    DISPATCH(weighted_column_sum, f64, k, n, columns, weights, out);
}

void latent_scatter_outer_f64(intptr_t k, intptr_t n, const int32_t *targets, const double *vector, const double *weights,
                              double *matrix) {
    DISPATCH(scatter_outer, f64, k, n, targets, vector, weights, matrix);
}

void latent_weighted_column_sum_f32(intptr_t k, intptr_t n, const float *columns, const float *weights, float *out) {
    DISPATCH(weighted_column_sum, f32, k, n, columns, weights, out);
}

void latent_scatter_outer_f32(intptr_t k, intptr_t n, const int32_t *targets, const float *vector, const float *weights,
                              float *matrix) {
    DISPATCH(scatter_outer, f32, k, n, targets, vector, weights, matrix);
}
