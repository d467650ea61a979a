// The kernels of variational LDA for one SCALAR type and one variant: E[ln Dirichlet] and exp
// over the topics, and the whole E-step of one document. ψ and exp are special_template.h's in
// SCALAR's own precision (D_T is SCALAR). Included by kernels.c after special_template.h.

// out[i] = ψ(x[i]) − shift_i for i < count, where shift_i is shifts[i] when `per_value`, else
// shifts[0].
ATTRIBUTES void NAME(digamma_shifted)(intptr_t count, const SCALAR *x, const SCALAR *shifts, int per_value,
                                      SCALAR *out) {
    intptr_t full = count - count % DLANES;
    for (intptr_t i = 0; i < full; i += DLANES) {
        DVEC shift = per_value ? D_LOAD(shifts + i) : D_SPLAT(shifts[0]);
        D_STORE(out + i, D_SUB(DNAME(digamma_v)(D_LOAD(x + i)), shift));
    }
    if (full < count) {
        SCALAR values[DLANES], subtracted[DLANES];
        for (intptr_t l = 0; l < DLANES; l++) {
            values[l] = full + l < count ? x[full + l] : 1;
            subtracted[l] = full + l < count ? shifts[per_value ? full + l : 0] : 0;
        }
        D_STORE(values, D_SUB(DNAME(digamma_v)(D_LOAD(values)), D_LOAD(subtracted)));
        for (intptr_t i = full; i < count; i++) out[i] = values[i - full];
    }
    // The special arguments, rare: found first, so that the usual case stores nothing more
    // (a conditional store in the loop becomes masked stores, slow on some CPUs).
    int special = 0;
    for (intptr_t i = 0; i < count; i++) special |= DNAME(digamma_is_special)(x[i]);
    for (intptr_t i = 0; special && i < count; i++) {
        if (DNAME(digamma_is_special)(x[i]))
            out[i] = DNAME(digamma_special)(x[i]) - shifts[per_value ? i : 0];
    }
}

// out[i] = ψ(x[i]), for i < count.
ATTRIBUTES void NAME(digamma)(intptr_t count, const SCALAR *x, SCALAR *out) {
    const SCALAR zero = 0;
    NAME(digamma_shifted)(count, x, &zero, 0, out);
}

// out[c k + i] = ψ(x[c k + i]) − shifts[i], for the `columns` columns of k values of x.
ATTRIBUTES void NAME(digamma_columns)(intptr_t k, intptr_t columns, const SCALAR *x, const SCALAR *shifts,
                                      SCALAR *out) {
    for (intptr_t c = 0; c < columns; c++) NAME(digamma_shifted)(k, x + c * k, shifts, 1, out + c * k);
}

// out[i] = e^x[i], for i < count.
ATTRIBUTES void NAME(exponential)(intptr_t count, const SCALAR *x, SCALAR *out) {
    intptr_t full = count - count % DLANES;
    for (intptr_t i = 0; i < full; i += DLANES) D_STORE(out + i, DNAME(exp_clamped_v)(D_LOAD(x + i)));
    if (full < count) {
        SCALAR values[DLANES];
        for (intptr_t l = 0; l < DLANES; l++) values[l] = full + l < count ? x[full + l] : 0;
        D_STORE(values, DNAME(exp_clamped_v)(D_LOAD(values)));
        for (intptr_t i = full; i < count; i++) out[i] = values[i - full];
    }
    int special = 0;
    for (intptr_t i = 0; i < count; i++) special |= DNAME(exp_is_special)(x[i]);
    for (intptr_t i = 0; special && i < count; i++) {
        if (DNAME(exp_is_special)(x[i])) out[i] = DNAME(exp_special)(x[i]);
    }
}

// Σ x[i] for i < count, as 8 partial sums (entry i into sum i mod 8, in order) added in
// V_SUM8's tree: the same bits on every variant, with eight additions side by side.
ATTRIBUTES SCALAR NAME(sum_tree)(intptr_t count, const SCALAR *x) {
    enum { GROUP = 8 / LANES };
    VECTOR acc[GROUP];
    for (int v = 0; v < GROUP; v++) acc[v] = V_ZERO();
    intptr_t full = count - count % 8;
    for (intptr_t i = 0; i < full; i += 8)
        for (int v = 0; v < GROUP; v++) acc[v] = V_ADD(acc[v], V_LOAD(x + i + v * LANES));
    if (full < count) {
        SCALAR rest[8] = {0};
        for (intptr_t i = full; i < count; i++) rest[i - full] = x[i];
        for (int v = 0; v < GROUP; v++) acc[v] = V_ADD(acc[v], V_LOAD(rest + v * LANES));
    }
    return V_SUM8(acc);
}

// E[ln θ] = ψ(γ) − ψ(Σγ) and exp E[ln θ] of one document, the latter also into `padded`
// (whose entries from k on stay zero).
ATTRIBUTES void NAME(lda_theta)(intptr_t k, const SCALAR *gamma, SCALAR *elogtheta, SCALAR *exp_elogtheta,
                                SCALAR *padded) {
    SCALAR psi_sum = DNAME(digamma_one)(NAME(sum_tree)(k, gamma));
    NAME(digamma_shifted)(k, gamma, &psi_sum, 0, elogtheta);
    NAME(exponential)(k, elogtheta, exp_elogtheta);
    for (intptr_t i = 0; i < k; i++) padded[i] = exp_elogtheta[i];
}

// One pass over a document's columns of exp E[ln β] (column j at matrix + ids[j] k; its last
// k mod 8 values also in tails + 8 j, padded with zeros to 8): phinorm_j = e · column_j + ε,
// each dot product summed as 8 partial sums (entry i into sum i mod 8, in order) added in a
// fixed tree (V_SUM8), whatever the variant (e is zero from k on). When `g` is not null, also
// weights_j = count_j / phinorm_j and g = Σ_j weights_j column_j (its entries from k on
// meaningless), summed in column order. Columns go by blocks, so that each is read once from
// memory while the block's dot products run side by side.
ATTRIBUTES void NAME(lda_pass)(intptr_t k, intptr_t n, const SCALAR *matrix, const int32_t *ids,
                               const SCALAR *tails, const SCALAR *e, const SCALAR *counts, SCALAR epsilon,
                               SCALAR *phinorm, SCALAR *weights, SCALAR *g) {
    enum { GROUP = 8 / LANES, BLOCK = sizeof(SCALAR) == 4 ? 8 : 4 };
    intptr_t full = k - k % 8, stride = latent_lda_column_stride(k);
    if (g)
        for (intptr_t i = 0; i < stride; i++) g[i] = 0;
    for (intptr_t j = 0; j < n; j += BLOCK) {
        intptr_t width = n - j < BLOCK ? n - j : BLOCK;
        const SCALAR *column[BLOCK], *tail[BLOCK];
        for (intptr_t c = 0; c < width; c++) {
            column[c] = matrix + (intptr_t)ids[j + c] * k;
            tail[c] = tails + (j + c) * 8;
        }
        // Entries i..i+7 of column c: in the matrix, or for the last ones, in the tails.
#define LDA_CHUNK(c, i, v) V_LOAD((i) < full ? column[c] + (i) + (v) * LANES : tail[c] + (v) * LANES)
        if (width == BLOCK) {
            VECTOR acc[BLOCK][GROUP];
            for (int c = 0; c < BLOCK; c++)
                for (int v = 0; v < GROUP; v++) acc[c][v] = V_ZERO();
            for (intptr_t i = 0; i < full; i += 8)
                for (int v = 0; v < GROUP; v++) {
                    VECTOR ev = V_LOAD(e + i + v * LANES);
                    for (int c = 0; c < BLOCK; c++) acc[c][v] = V_ADD(acc[c][v], V_MUL(ev, V_LOAD(column[c] + i + v * LANES)));
                }
            if (full < stride)
                for (int v = 0; v < GROUP; v++) {
                    VECTOR ev = V_LOAD(e + full + v * LANES);
                    for (int c = 0; c < BLOCK; c++) acc[c][v] = V_ADD(acc[c][v], V_MUL(ev, V_LOAD(tail[c] + v * LANES)));
                }
            for (int c = 0; c < BLOCK; c++) phinorm[j + c] = V_SUM8(acc[c]) + epsilon;
        } else {
            for (intptr_t c = 0; c < width; c++) {
                VECTOR acc[GROUP];
                for (int v = 0; v < GROUP; v++) acc[v] = V_ZERO();
                for (intptr_t i = 0; i < stride; i += 8)
                    for (int v = 0; v < GROUP; v++)
                        acc[v] = V_ADD(acc[v], V_MUL(V_LOAD(e + i + v * LANES), LDA_CHUNK(c, i, v)));
                phinorm[j + c] = V_SUM8(acc) + epsilon;
            }
        }
        if (!g) continue;
        SCALAR w[BLOCK];
        for (intptr_t c = 0; c < width; c++) w[c] = weights[j + c] = counts[j + c] / phinorm[j + c];
        if (width == BLOCK) {
            for (intptr_t i = 0; i < full; i += LANES) {
                VECTOR sum = V_LOAD(g + i);
                for (int c = 0; c < BLOCK; c++) sum = V_ADD(sum, V_MUL(V_SPLAT(w[c]), V_LOAD(column[c] + i)));
                V_STORE(g + i, sum);
            }
            for (intptr_t i = full; i < stride; i += LANES) {
                VECTOR sum = V_LOAD(g + i);
                for (int c = 0; c < BLOCK; c++) sum = V_ADD(sum, V_MUL(V_SPLAT(w[c]), V_LOAD(tail[c] + i - full)));
                V_STORE(g + i, sum);
            }
        } else {
            for (intptr_t c = 0; c < width; c++) {
                VECTOR wc = V_SPLAT(w[c]);
                for (intptr_t i = 0; i < stride; i += 8)
                    for (int v = 0; v < GROUP; v++)
                        V_STORE(g + i + v * LANES, V_ADD(V_LOAD(g + i + v * LANES), V_MUL(wc, LDA_CHUNK(c, i, v))));
            }
        }
#undef LDA_CHUNK
    }
}

// The E-step of one document (gensim's `LdaModel.inference` loop for one document): from the
// initial γ in `gamma`, up to `iterations` times γ = α + exp E[ln θ] ⊙ Σ_w (count_w /
// phinorm_w) exp E[ln β_w], until the mean |Δγ| is below `threshold`. The document's columns
// of exp E[ln β] are read where they are: column ids[j] of `matrix` (k rows); `scratch` has
// room for latent_lda_scratch_size(k, n) values. An iteration's products are one pass over
// the columns: the phinorm that ends an iteration and the sum that starts the next. On
// return `weights` holds count_w / phinorm_w for the final θ; the result is the number of
// iterations run, negated when the document did not converge.
ATTRIBUTES intptr_t NAME(lda_document)(intptr_t k, intptr_t n, const SCALAR *matrix, const int32_t *ids,
                                       const SCALAR *counts, const SCALAR *alpha, intptr_t iterations,
                                       SCALAR threshold, SCALAR epsilon, SCALAR *gamma, SCALAR *elogtheta,
                                       SCALAR *exp_elogtheta, SCALAR *phinorm, SCALAR *weights, SCALAR *last_gamma,
                                       SCALAR *scratch) {
    intptr_t stride = latent_lda_column_stride(k), full = k - k % 8;
    SCALAR *padded = scratch, *sums = scratch + stride, *tails = scratch + 2 * stride;
    for (intptr_t i = k; i < stride; i++) padded[i] = 0;
    // The columns' last k mod 8 values, padded with zeros to a vector of 8.
    if (full < k)
        for (intptr_t j = 0; j < n; j++)
            for (intptr_t i = 0; i < 8; i++)
                tails[j * 8 + i] = full + i < k ? matrix[(intptr_t)ids[j] * k + full + i] : 0;
    NAME(lda_theta)(k, gamma, elogtheta, exp_elogtheta, padded);
    NAME(lda_pass)(k, n, matrix, ids, tails, padded, counts, epsilon, phinorm, weights, iterations > 0 ? sums : 0);
    intptr_t run = 0;
    int converged = 0;
    while (run < iterations && !converged) {
        run++;
        for (intptr_t i = 0; i < k; i++) {
            last_gamma[i] = gamma[i];
            gamma[i] = alpha[i] + exp_elogtheta[i] * sums[i];
        }
        NAME(lda_theta)(k, gamma, elogtheta, exp_elogtheta, padded);
        // The mean |Δγ|; last_gamma is not needed again this iteration.
        for (intptr_t i = 0; i < k; i++) {
            SCALAR step = gamma[i] - last_gamma[i];
            last_gamma[i] = step < 0 ? -step : step;
        }
        converged = NAME(sum_tree)(k, last_gamma) / (SCALAR)k < threshold;
        int last = converged || run == iterations;
        NAME(lda_pass)(k, n, matrix, ids, tails, padded, counts, epsilon, phinorm, weights, last ? 0 : sums);
    }
    for (intptr_t j = 0; j < n; j++) weights[j] = counts[j] / phinorm[j];
    return converged ? run : -run;
}
