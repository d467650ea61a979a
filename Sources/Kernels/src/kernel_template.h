// The loops of the kernels, written once and compiled once per scalar type and instruction
// set by kernels.c, which defines before each inclusion:
//   SCALAR             double or float
//   NAME(stem)         the function's name for this variant
//   ATTRIBUTES         e.g. static __attribute__((target("avx2")))
//   VECTOR, LANES      a vector of LANES scalars (LANES divides 32)
//   V_ZERO(), V_SPLAT(x), V_LOAD(p), V_STORE(p, v), V_ADD(a, b), V_MUL(a, b)
// Every value is computed as accumulator + (weight * value), rounded after the multiply
// and after the add, in the order of the entries: the same in every variant.

#define PANEL LATENT_PANEL_HEIGHT
#define VECTORS (PANEL / LANES)
// Entries ahead whose piece of the cached side is prefetched: the pieces are scattered over
// megabytes, so each is a last-level-cache (or memory) access; asking for it this far
// ahead overlaps the wait with the work on the entries before it. A prefetch never faults
// and changes no value, so the results are the same bits.
#define AHEAD 8
#define PREFETCH_PIECE(address, write) \
    for (int line = 0; line < PANEL * (int)sizeof(SCALAR); line += 64) \
        __builtin_prefetch((const char *)(address) + line, write, 3)

ATTRIBUTES void NAME(gather_panel)(const SCALAR *dense, intptr_t rows, intptr_t p, intptr_t q,
                                   const intptr_t *starts, const int32_t *indices, const SCALAR *values,
                                   SCALAR *out, intptr_t top, SCALAR *packed, intptr_t block, intptr_t *cursor) {
    intptr_t height = rows - top < PANEL ? rows - top : PANEL;
    for (intptr_t j = 0; j < q; j++) cursor[j] = starts[j];
    // Columns of D in blocks of `block`, so the packed panel stays in cache; each column of
    // S resumes where the previous block left it (row indices ascend).
    for (intptr_t first = 0; first < p; first += block) {
        intptr_t last = first + block < p ? first + block : p;
        for (intptr_t i = first; i < last; i++) {
            const SCALAR *source = dense + top + i * rows;
            SCALAR *target = packed + (i - first) * PANEL;
            for (intptr_t t = 0; t < height; t++) target[t] = source[t];
            for (intptr_t t = height; t < PANEL; t++) target[t] = 0;
        }
        const SCALAR *base = packed - first * PANEL;
        for (intptr_t j = 0; j < q; j++) {
            intptr_t entry = cursor[j], end = starts[j + 1];
            if (entry >= end || indices[entry] >= last) continue;
            VECTOR acc[VECTORS];
            for (int k = 0; k < VECTORS; k++) acc[k] = V_ZERO();
            for (; entry < end; entry++) {
                intptr_t index = indices[entry];
                if (index >= last) break;
                if (entry + AHEAD < end) PREFETCH_PIECE(base + (intptr_t)indices[entry + AHEAD] * PANEL, 0);
                VECTOR weight = V_SPLAT(values[entry]);
                const SCALAR *piece = base + index * PANEL;
                for (int k = 0; k < VECTORS; k++) acc[k] = V_ADD(acc[k], V_MUL(weight, V_LOAD(piece + k * LANES)));
            }
            cursor[j] = entry;
            SCALAR *target = out + top + j * rows;
            if (height == PANEL) {
                for (int k = 0; k < VECTORS; k++) V_STORE(target + k * LANES, V_ADD(V_LOAD(target + k * LANES), acc[k]));
            } else {
                SCALAR lanes[PANEL];
                for (int k = 0; k < VECTORS; k++) V_STORE(lanes + k * LANES, acc[k]);
                for (intptr_t t = 0; t < height; t++) target[t] = target[t] + lanes[t];
            }
        }
    }
}

ATTRIBUTES void NAME(scatter_panel)(const SCALAR *dense, intptr_t rows, intptr_t p, intptr_t q,
                                    const intptr_t *starts, const int32_t *indices, const SCALAR *values,
                                    SCALAR *out, intptr_t top, SCALAR *accumulator, intptr_t block, intptr_t *cursor) {
    intptr_t height = rows - top < PANEL ? rows - top : PANEL;
    // `block` accumulator columns, then one for D's current piece.
    SCALAR *piece = accumulator + PANEL * block;
    for (intptr_t i = 0; i < p; i++) cursor[i] = starts[i];
    for (int t = 0; t < PANEL; t++) piece[t] = 0;
    // Result columns in blocks of `block`, so the accumulator stays in cache; each column
    // of T resumes where the previous block left it (row indices ascend).
    for (intptr_t first = 0; first < q; first += block) {
        intptr_t last = first + block < q ? first + block : q;
        for (intptr_t index = 0; index < PANEL * block; index++) accumulator[index] = 0;
        SCALAR *base = accumulator - first * PANEL;
        for (intptr_t i = 0; i < p; i++) {
            intptr_t entry = cursor[i], end = starts[i + 1];
            if (entry >= end || indices[entry] >= last) continue;
            const SCALAR *source = dense + top + i * rows;
            for (intptr_t t = 0; t < height; t++) piece[t] = source[t];
            VECTOR x[VECTORS];
            for (int k = 0; k < VECTORS; k++) x[k] = V_LOAD(piece + k * LANES);
            for (; entry < end; entry++) {
                intptr_t index = indices[entry];
                if (index >= last) break;
                if (entry + AHEAD < end) PREFETCH_PIECE(base + (intptr_t)indices[entry + AHEAD] * PANEL, 1);
                VECTOR weight = V_SPLAT(values[entry]);
                SCALAR *target = base + index * PANEL;
                for (int k = 0; k < VECTORS; k++) V_STORE(target + k * LANES, V_ADD(V_LOAD(target + k * LANES), V_MUL(weight, x[k])));
            }
            cursor[i] = entry;
        }
        for (intptr_t j = first; j < last; j++) {
            const SCALAR *source = accumulator + (j - first) * PANEL;
            SCALAR *target = out + top + j * rows;
            for (intptr_t t = 0; t < height; t++) target[t] = source[t];
        }
    }
}

ATTRIBUTES void NAME(sign_product)(intptr_t r, intptr_t per_column, const int32_t *sign_rows, const SCALAR *sign_values,
                                   const intptr_t *starts, const int32_t *indices, const SCALAR *values,
                                   SCALAR *out, intptr_t first, intptr_t last) {
    for (intptr_t j = first; j < last; j++) {
        SCALAR *column = out + j * r;
        for (intptr_t entry = starts[j]; entry < starts[j + 1]; entry++) {
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
