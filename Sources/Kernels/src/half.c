// IEEE half precision (binary16) for the similarity index's screening copy: conversion from
// float, and dot products of half rows with a float query. See LatentKernels.h.
#include "LatentKernels.h"

#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

// Round to nearest, ties to even, as F16C's _mm256_cvtps_ph with _MM_FROUND_TO_NEAREST_INT;
// overflow to infinity, NaN kept a NaN, values below the smallest subnormal to signed zero.
static uint16_t half_from_float(float value) {
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    uint32_t sign = (bits >> 16) & 0x8000u;
    uint32_t magnitude = bits & 0x7FFFFFFFu;
    if (magnitude >= 0x7F800000u) {  // infinity or NaN
        return (uint16_t)(sign | 0x7C00u | (magnitude > 0x7F800000u ? 0x200u : 0));
    }
    if (magnitude >= 0x477FF000u) return (uint16_t)(sign | 0x7C00u);  // rounds to beyond 65504
    if (magnitude < 0x38800000u) {  // below 2^-14: a subnormal half, or zero
        if (magnitude < 0x33000000u) return (uint16_t)sign;  // below half of the smallest subnormal
        uint32_t exponent = magnitude >> 23;
        uint32_t mantissa = (magnitude & 0x7FFFFFu) | 0x800000u;
        uint32_t shift = 126 - exponent;  // 14 + 24 - (exponent - 127) - 1 ... leaves 10 bits
        uint32_t kept = mantissa >> shift;
        uint32_t rest = mantissa & ((1u << shift) - 1);
        uint32_t halfway = 1u << (shift - 1);
        if (rest > halfway || (rest == halfway && (kept & 1))) kept += 1;
        return (uint16_t)(sign | kept);
    }
    uint32_t rebased = magnitude - 0x38000000u;  // exponent bias 127 -> 15
    uint32_t kept = rebased >> 13;
    uint32_t rest = rebased & 0x1FFFu;
    if (rest > 0x1000u || (rest == 0x1000u && (kept & 1))) kept += 1;
    return (uint16_t)(sign | kept);
}

static float float_from_half(uint16_t half) {
    uint32_t sign = (uint32_t)(half & 0x8000u) << 16;
    uint32_t exponent = (half >> 10) & 0x1Fu;
    uint32_t mantissa = half & 0x3FFu;
    uint32_t bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else {  // subnormal: normalise
            int shift = 0;
            while (!(mantissa & 0x400u)) { mantissa <<= 1; shift += 1; }
            bits = sign | ((uint32_t)(113 - shift) << 23) | ((mantissa & 0x3FFu) << 13);
        }
    } else if (exponent == 0x1F) {
        bits = sign | 0x7F800000u | (mantissa << 13);
    } else {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    }
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

void latent_half_from_float(const float *in, uint16_t *out, intptr_t count) {
    for (intptr_t i = 0; i < count; i++) out[i] = half_from_float(in[i]);
}

float latent_float_from_half(uint16_t half) { return float_from_half(half); }

// One row: 8 partial sums over the lanes, added in a fixed order at the end.
static void portable_half_dots(const uint16_t *rows, intptr_t count, intptr_t dimension, const float *query, float *out) {
    for (intptr_t r = 0; r < count; r++) {
        const uint16_t *row = rows + r * dimension;
        float partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        intptr_t j = 0;
        for (; j + 8 <= dimension; j += 8) {
            for (int lane = 0; lane < 8; lane++) partial[lane] += float_from_half(row[j + lane]) * query[j + lane];
        }
        float sum = ((partial[0] + partial[4]) + (partial[1] + partial[5])) + ((partial[2] + partial[6]) + (partial[3] + partial[7]));
        for (; j < dimension; j++) sum += float_from_half(row[j]) * query[j];
        out[r] = sum;
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2,f16c"))) static void avx2_half_dots(const uint16_t *rows, intptr_t count, intptr_t dimension,
                                                                 const float *query, float *out) {
    for (intptr_t r = 0; r < count; r++) {
        const uint16_t *row = rows + r * dimension;
        if (r + 2 < count) _mm_prefetch((const char *)(row + 2 * dimension), _MM_HINT_T0);
        __m256 a = _mm256_setzero_ps(), b = _mm256_setzero_ps();
        intptr_t j = 0;
        for (; j + 16 <= dimension; j += 16) {
            __m256 x0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + j)));
            __m256 x1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + j + 8)));
            a = _mm256_add_ps(a, _mm256_mul_ps(x0, _mm256_loadu_ps(query + j)));
            b = _mm256_add_ps(b, _mm256_mul_ps(x1, _mm256_loadu_ps(query + j + 8)));
        }
        for (; j + 8 <= dimension; j += 8) {
            __m256 x0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + j)));
            a = _mm256_add_ps(a, _mm256_mul_ps(x0, _mm256_loadu_ps(query + j)));
        }
        __m256 both = _mm256_add_ps(a, b);
        __m128 folded = _mm_add_ps(_mm256_castps256_ps128(both), _mm256_extractf128_ps(both, 1));
        folded = _mm_hadd_ps(folded, folded);
        float sum = _mm_cvtss_f32(_mm_hadd_ps(folded, folded));
        for (; j < dimension; j++) sum += float_from_half(row[j]) * query[j];
        out[r] = sum;
    }
}

static int cpu_has_f16c(void) {
    __builtin_cpu_init();
    return latent_kernels_avx2() && __builtin_cpu_supports("f16c");
}
#endif

void latent_half_dots(const uint16_t *rows, intptr_t count, intptr_t dimension, const float *query, float *out) {
#if defined(__x86_64__)
    static int f16c = -1;
    if (f16c < 0) f16c = cpu_has_f16c();
    if (f16c) {
        avx2_half_dots(rows, count, dimension, query, out);
        return;
    }
#endif
    portable_half_dots(rows, count, dimension, query, out);
}
