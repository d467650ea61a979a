// The scattering product's panel loop, included by kernel_template.h with SCATTER_NAME (the
// function's name) and the variant's definitions (SCALAR, VECTOR, LANES, V_*, PANEL,
// VECTORS, AHEAD).

ATTRIBUTES void SCATTER_NAME(const SCALAR *dense, intptr_t rows, intptr_t p, intptr_t q,
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

#undef SCATTER_NAME
