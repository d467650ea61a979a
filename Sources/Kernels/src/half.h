// IEEE half precision (binary16) conversions, the same bits on every CPU: included by half.c
// (the similarity index's screening copy) and kernels.c (the products that steer LSI's power
// iterations).
#ifndef LATENT_HALF_H
#define LATENT_HALF_H

#include <stdint.h>
#include <string.h>

// Round to nearest, ties to even, as F16C's _mm256_cvtps_ph with _MM_FROUND_TO_NEAREST_INT;
// overflow to infinity, NaN kept a NaN, values below the smallest subnormal to signed zero.
static inline uint16_t half_from_float(float value) {
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

static inline float float_from_half(uint16_t half) {
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

#endif
