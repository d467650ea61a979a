// The kernels of variational LDA for one SCALAR type and one variant: E[ln Dirichlet] and exp
// over the topics, and the whole E-step of one document. ψ and exp run in Float64 whatever
// SCALAR is (special_template.h), D_LOAD_S / D_STORE_S converting; results are rounded to
// SCALAR where they are stored. Included by kernels.c after special_template.h.

// out[i] = ψ(x[i]) − shift_i for i < count, where shift_i is shifts[i] when `per_value`, else
// shifts[0].
ATTRIBUTES void NAME(digamma_shifted)(intptr_t count, const SCALAR *x, const double *shifts, int per_value,
                                      SCALAR *out) {
    intptr_t full = count - count % DLANES;
    for (intptr_t i = 0; i < full; i += DLANES) {
        DVEC shift = per_value ? D_LOAD(shifts + i) : D_SPLAT(shifts[0]);
        D_STORE_S(out + i, D_SUB(DNAME(digamma_v)(D_LOAD_S(x + i)), shift));
    }
    if (full < count) {
        double values[DLANES], subtracted[DLANES];
        for (intptr_t l = 0; l < DLANES; l++) {
            values[l] = full + l < count ? (double)x[full + l] : 1.0;
            subtracted[l] = full + l < count ? shifts[per_value ? full + l : 0] : 0.0;
        }
        D_STORE(values, D_SUB(DNAME(digamma_v)(D_LOAD(values)), D_LOAD(subtracted)));
        for (intptr_t i = full; i < count; i++) out[i] = (SCALAR)values[i - full];
    }
    for (intptr_t i = 0; i < count; i++) {
        double value = (double)x[i];
        if (latent_digamma_is_special(value))
            out[i] = (SCALAR)(latent_digamma_special(value) - shifts[per_value ? i : 0]);
    }
}

// out[i] = ψ(x[i]), for i < count.
ATTRIBUTES void NAME(digamma)(intptr_t count, const SCALAR *x, SCALAR *out) {
    const double zero = 0;
    NAME(digamma_shifted)(count, x, &zero, 0, out);
}

// out[c k + i] = ψ(x[c k + i]) − shifts[i], for the `columns` columns of k values of x.
ATTRIBUTES void NAME(digamma_columns)(intptr_t k, intptr_t columns, const SCALAR *x, const double *shifts,
                                      SCALAR *out) {
    for (intptr_t c = 0; c < columns; c++) NAME(digamma_shifted)(k, x + c * k, shifts, 1, out + c * k);
}

// out[i] = e^x[i], for i < count.
ATTRIBUTES void NAME(exponential)(intptr_t count, const SCALAR *x, SCALAR *out) {
    intptr_t full = count - count % DLANES;
    for (intptr_t i = 0; i < full; i += DLANES) D_STORE_S(out + i, DNAME(exp_clamped_v)(D_LOAD_S(x + i)));
    if (full < count) {
        double values[DLANES];
        for (intptr_t l = 0; l < DLANES; l++) values[l] = full + l < count ? (double)x[full + l] : 0.0;
        D_STORE(values, DNAME(exp_clamped_v)(D_LOAD(values)));
        for (intptr_t i = full; i < count; i++) out[i] = (SCALAR)values[i - full];
    }
    for (intptr_t i = 0; i < count; i++) {
        double value = (double)x[i];
        if (latent_exp_is_special(value)) out[i] = (SCALAR)latent_exp_special(value);
    }
}

// E[ln θ] = ψ(γ) − ψ(Σγ) and exp E[ln θ] of one document, then phinorm = exp E[ln θ] · the
// document's columns of exp E[ln β] (`rows`: a row of n terms per topic) + ε.
ATTRIBUTES void NAME(lda_theta)(intptr_t k, intptr_t n, const SCALAR *rows, SCALAR epsilon, const SCALAR *gamma,
                                SCALAR *elogtheta, SCALAR *exp_elogtheta, SCALAR *phinorm) {
    SCALAR sum = 0;
    for (intptr_t i = 0; i < k; i++) sum += gamma[i];
    double psi_sum = DNAME(digamma_one)((double)sum);
    NAME(digamma_shifted)(k, gamma, &psi_sum, 0, elogtheta);
    NAME(exponential)(k, elogtheta, exp_elogtheta);
    NAME(weighted_column_sum)(n, k, rows, exp_elogtheta, phinorm);
    for (intptr_t j = 0; j < n; j++) phinorm[j] += epsilon;
}

// The E-step of one document (gensim's `LdaModel.inference` loop for one document): from the
// initial γ in `gamma`, up to `iterations` times γ = α + exp E[ln θ] ⊙ Σ_w (count_w /
// phinorm_w) exp E[ln β_w], until the mean |Δγ| is below `threshold`. `columns` holds the
// document's n columns of exp E[ln β] (k each) and `rows` the same transposed. On return
// `weights` holds count_w / phinorm_w for the final θ; the result is the number of iterations
// run, negated when the document did not converge.
ATTRIBUTES intptr_t NAME(lda_document)(intptr_t k, intptr_t n, const SCALAR *columns, const SCALAR *rows,
                                       const SCALAR *counts, const SCALAR *alpha, intptr_t iterations,
                                       SCALAR threshold, SCALAR epsilon, SCALAR *gamma, SCALAR *elogtheta,
                                       SCALAR *exp_elogtheta, SCALAR *phinorm, SCALAR *weights,
                                       SCALAR *last_gamma) {
    NAME(lda_theta)(k, n, rows, epsilon, gamma, elogtheta, exp_elogtheta, phinorm);
    intptr_t run = 0;
    int converged = 0;
    while (run < iterations && !converged) {
        run++;
        for (intptr_t i = 0; i < k; i++) last_gamma[i] = gamma[i];
        for (intptr_t j = 0; j < n; j++) weights[j] = counts[j] / phinorm[j];
        NAME(weighted_column_sum)(k, n, columns, weights, gamma);
        for (intptr_t i = 0; i < k; i++) gamma[i] = alpha[i] + exp_elogtheta[i] * gamma[i];
        NAME(lda_theta)(k, n, rows, epsilon, gamma, elogtheta, exp_elogtheta, phinorm);
        SCALAR change = 0;
        for (intptr_t i = 0; i < k; i++) {
            SCALAR step = gamma[i] - last_gamma[i];
            change += step < 0 ? -step : step;
        }
        converged = change / (SCALAR)k < threshold;
    }
    for (intptr_t j = 0; j < n; j++) weights[j] = counts[j] / phinorm[j];
    return converged ? run : -run;
}
