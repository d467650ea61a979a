// The gathering product's panel loop, included by kernel_template.h once per variant with
//   DENSE              the element type of D and of its packed copy (SCALAR, or float)
//   V_LOAD_DENSE(p)    LANES values of DENSE at p, as a VECTOR
//   GATHER_NAME        the function's name
// and the variant's definitions (SCALAR, VECTOR, LANES, V_*, PANEL, VECTORS, AHEAD).

ATTRIBUTES void GATHER_NAME(const DENSE *dense, intptr_t rows, intptr_t p, intptr_t q,
                            const intptr_t *starts, const int32_t *indices, const SCALAR *values,
                            SCALAR *out, intptr_t top, DENSE *packed, intptr_t block, intptr_t *cursor) {
    intptr_t height = rows - top < PANEL ? rows - top : PANEL;
    for (intptr_t j = 0; j < q; j++) cursor[j] = starts[j];
    // Columns of D in blocks of `block`, so the packed panel stays in cache; each column of
    // S resumes where the previous block left it (row indices ascend).
    for (intptr_t first = 0; first < p; first += block) {
        intptr_t last = first + block < p ? first + block : p;
        for (intptr_t i = first; i < last; i++) {
            const DENSE *source = dense + top + i * rows;
            DENSE *target = packed + (i - first) * PANEL;
            for (intptr_t t = 0; t < height; t++) target[t] = source[t];
            for (intptr_t t = height; t < PANEL; t++) target[t] = 0;
        }
        const DENSE *base = packed - first * PANEL;
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
                const DENSE *piece = base + index * PANEL;
                for (int k = 0; k < VECTORS; k++) acc[k] = V_ADD(acc[k], V_MUL(weight, V_LOAD_DENSE(piece + k * LANES)));
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

#undef DENSE
#undef V_LOAD_DENSE
#undef GATHER_NAME
