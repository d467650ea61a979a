// IEEE half precision (binary16) for the similarity index's screening copy: conversion from
// float, and dot products of half rows with a float query. See LatentKernels.h.
#include "LatentKernels.h"

#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

#include <stdint.h>
#include <string.h>
#include "half.h"
#if defined(__x86_64__)
#include <immintrin.h>
#endif

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

#endif

void latent_half_dots(const uint16_t *rows, intptr_t count, intptr_t dimension, const float *query, float *out) {
#if defined(__x86_64__)
    if (latent_kernels_avx2()) {
        avx2_half_dots(rows, count, dimension, query, out);
        return;
    }
#endif
    portable_half_dots(rows, count, dimension, query, out);
}
