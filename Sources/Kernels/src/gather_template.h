// The gathering product's loop over one block of one panel, included by kernel_template.h
// once per variant with
//   PACKED             the element type of the packed panel (SCALAR, float or uint16_t)
//   V_LOAD_PACKED(p)   LANES values of PACKED at p, as a VECTOR
//   UNSCALED           (optional) each row's sum is multiplied by unscale[row] before it is
//                      added to the result (the half-precision panels hold scaled rows)
//   GATHER_NAME        the function's name
// and the variant's definitions (SCALAR, VECTOR, LANES, V_*, PANEL, VECTORS, AHEAD).

ATTRIBUTES void GATHER_NAME(const PACKED *packed, intptr_t first, intptr_t last, intptr_t rows, intptr_t top,
                            const intptr_t *starts, const int32_t *indices, const SCALAR *values,
                            SCALAR *out, intptr_t j0, intptr_t j1, intptr_t *cursor, const SCALAR *unscale) {
    intptr_t height = rows - top < PANEL ? rows - top : PANEL;
    // The panel's first block starts every column at its first entry; each later block
    // resumes where the one before left the column (row indices ascend).
    if (first == 0) {
        for (intptr_t j = j0; j < j1; j++) cursor[j] = starts[j];
    }
    const PACKED *base = packed - first * PANEL;
#ifdef UNSCALED
    VECTOR factors[VECTORS];
    for (int k = 0; k < VECTORS; k++) factors[k] = V_LOAD(unscale + k * LANES);
#else
    (void)unscale;
#endif
    for (intptr_t j = j0; j < j1; j++) {
        intptr_t entry = cursor[j], end = starts[j + 1];
        if (entry >= end || indices[entry] >= last) continue;
        VECTOR acc[VECTORS];
        for (int k = 0; k < VECTORS; k++) acc[k] = V_ZERO();
        for (; entry < end; entry++) {
            intptr_t index = indices[entry];
            if (index >= last) break;
            if (entry + AHEAD < end) PREFETCH_PIECE(base + (intptr_t)indices[entry + AHEAD] * PANEL, 0);
            VECTOR weight = V_SPLAT(values[entry]);
            const PACKED *piece = base + index * PANEL;
            for (int k = 0; k < VECTORS; k++) acc[k] = V_ADD(acc[k], V_MUL(weight, V_LOAD_PACKED(piece + k * LANES)));
        }
        cursor[j] = entry;
#ifdef UNSCALED
        for (int k = 0; k < VECTORS; k++) acc[k] = V_MUL(acc[k], factors[k]);
#endif
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

#undef PACKED
#undef V_LOAD_PACKED
#undef UNSCALED
#undef GATHER_NAME
