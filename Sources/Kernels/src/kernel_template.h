// The loops of the kernels, written once and compiled once per scalar type and instruction
// set by kernels.c, which defines before each inclusion:
//   SCALAR             double or float
//   NAME(stem)         the function's name for this variant
//   ATTRIBUTES         e.g. static __attribute__((target("avx2")))
//   VECTOR, LANES      a vector of LANES scalars (LANES divides PANEL_HEIGHT)
//   PANEL_HEIGHT       LATENT_PANEL_HEIGHT_F64 or _F32
//   NARROW_PANEL_HEIGHT (optional) a second, lower panel height
//   V_ZERO(), V_SPLAT(x), V_LOAD(p), V_STORE(p, v), V_ADD(a, b), V_MUL(a, b)
//   V_LOAD_HALVES(p)   LANES halves at p, converted to a VECTOR (exactly)
//   V_LOAD_FLOATS(p)   (Float64 variants) LANES floats at p, converted to a VECTOR
// Every value is computed as accumulator + (weight * value), rounded after the multiply
// and after the add, in the order of the entries: the same in every variant.

#define PANEL PANEL_HEIGHT
#define VECTORS (PANEL / LANES)
// Entries ahead whose piece of the cached side is prefetched: the pieces are scattered over
// megabytes, so each is a last-level-cache (or memory) access; asking for it this far
// ahead overlaps the wait with the work on the entries before it. A prefetch never faults
// and changes no value, so the results are the same bits.
#define AHEAD 8
#define PREFETCH_PIECE(address, write) \
    for (int line = 0; line < PANEL * (int)sizeof(*(address)); line += 64) \
        __builtin_prefetch((const char *)(address) + line, write, 3)

#define PACKED SCALAR
#define V_LOAD_PACKED(p) V_LOAD(p)
#define GATHER_NAME NAME(gather_block)
#include "gather_template.h"
#ifdef V_LOAD_FLOATS
// The Float64 variants also gather from a Float32 panel, converting each piece as it is
// loaded (exactly: every float is a double): the same bits as gathering from D converted to
// Float64 first, with half the bytes moved and no converted copy of D.
#define PACKED float
#define V_LOAD_PACKED(p) V_LOAD_FLOATS(p)
#define GATHER_NAME NAME(gather_block_floats)
#include "gather_template.h"
#endif
// Every variant gathers from a half-precision panel of scaled rows too (the products that
// only steer an iteration): each half is converted exactly as it is loaded.
#define PACKED uint16_t
#define V_LOAD_PACKED(p) V_LOAD_HALVES(p)
#define UNSCALED
#define GATHER_NAME NAME(gather_block_halves)
#include "gather_template.h"

#define SCATTER_NAME NAME(scatter_panel)
#include "scatter_template.h"

#ifdef NARROW_PANEL_HEIGHT
// Variants with tall panels also scatter in narrow ones, for row counts whose tall panels
// the threads would share unevenly (300 rows: 64 + 64 + 44 against 64 + 64, where 32-row
// panels give 160 against 140). The same bits either way.
#undef PANEL
#undef VECTORS
#define PANEL NARROW_PANEL_HEIGHT
#define VECTORS (PANEL / LANES)
#define SCATTER_NAME NAME(scatter_panel_narrow)
#include "scatter_template.h"
#endif

ATTRIBUTES void NAME(sign_product)(intptr_t r, intptr_t per_column, const int32_t *sign_rows, const SCALAR *sign_values,
                                   const intptr_t *starts, const int32_t *indices, const SCALAR *values,
                                   SCALAR *out, intptr_t first, intptr_t last) {
    for (intptr_t j = first; j < last; j++) {
        SCALAR *column = out + j * r;
        intptr_t end = starts[j + 1];
        for (intptr_t entry = starts[j]; entry < end; entry++) {
            // Ω's columns are read at random places (one per entry, from a table of 6-10 MB
            // per hundred thousand rows of S): ask for them AHEAD entries early, as the
            // gathering kernel does for its pieces.
            if (entry + AHEAD < end) {
                intptr_t ahead = (intptr_t)indices[entry + AHEAD] * per_column;
                __builtin_prefetch(sign_rows + ahead, 0, 3);
                __builtin_prefetch(sign_rows + ahead + per_column - 1, 0, 3);
                __builtin_prefetch(sign_values + ahead, 0, 3);
                __builtin_prefetch(sign_values + ahead + per_column - 1, 0, 3);
            }
            intptr_t i = indices[entry];
            SCALAR v = values[entry];
            for (intptr_t k = i * per_column; k < i * per_column + per_column; k++) {
                column[sign_rows[k]] = column[sign_rows[k]] + v * sign_values[k];
            }
        }
    }
}

// out (k values) += weights[j] * vector sources[j] of `vectors` (k values each), for each j < n
// in order; by blocks of 4 vectors kept in registers.
ATTRIBUTES void NAME(gather_outer)(intptr_t k, intptr_t n, const int32_t *sources, const SCALAR *vectors,
                                   const SCALAR *weights, SCALAR *out) {
    enum { WIDTH = 4 * LANES };
    intptr_t blocks = k - k % WIDTH, full = k - k % LANES;
    for (intptr_t i0 = 0; i0 < blocks; i0 += WIDTH) {
        VECTOR acc[4];
        for (int v = 0; v < 4; v++) acc[v] = V_LOAD(out + i0 + v * LANES);
        for (intptr_t j = 0; j < n; j++) {
            const SCALAR *from = vectors + (intptr_t)sources[j] * k + i0;
            VECTOR w = V_SPLAT(weights[j]);
            for (int v = 0; v < 4; v++) acc[v] = V_ADD(acc[v], V_MUL(V_LOAD(from + v * LANES), w));
        }
        for (int v = 0; v < 4; v++) V_STORE(out + i0 + v * LANES, acc[v]);
    }
    for (intptr_t i0 = blocks; i0 < full; i0 += LANES) {
        VECTOR acc = V_LOAD(out + i0);
        for (intptr_t j = 0; j < n; j++)
            acc = V_ADD(acc, V_MUL(V_LOAD(vectors + (intptr_t)sources[j] * k + i0), V_SPLAT(weights[j])));
        V_STORE(out + i0, acc);
    }
    for (intptr_t i = full; i < k; i++) {
        SCALAR sum = out[i];
        for (intptr_t j = 0; j < n; j++) sum = sum + vectors[(intptr_t)sources[j] * k + i] * weights[j];
        out[i] = sum;
    }
}

#undef PANEL
#undef VECTORS
