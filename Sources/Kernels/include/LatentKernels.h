// Latent's hand-written hot loops: the dense x sparse products of LSI (gather and scatter,
// one panel of rows per call), the sparse sign sketch, and the small dense products of LDA's
// E-step (weighted sums of a document's topic columns, and a scattered outer product), in
// Float64 and Float32.
//
// Each entry point picks, once per call, an AVX2 version (x86-64 CPUs from 2013 on, with F16C) or a
// portable one, so a library built for any x86-64 or arm64 machine runs everywhere and
// takes the fast path where the CPU has it. Both versions compute every value with the
// same operations in the same order (a multiply, then an add: never fused), so results are
// bit for bit the same whichever runs.
//
// The Swift layer (Sources/LinearAlgebra/Sparse) owns the shapes, the scratch buffers and
// the threads; these functions only loop.
#ifndef LATENT_KERNELS_H
#define LATENT_KERNELS_H

#include <stdint.h>

/// Rows of the dense side handled per call, by the result's type: eight 32-byte vectors of
/// accumulators either way (the register file holds them with room to spare). A row's value
/// is the same sum in the same order whatever the height: only the grouping of rows changes.
/// A Float64 result gathers 32 rows whatever its panel holds (Float64, Float32 or halves).
#define LATENT_PANEL_HEIGHT_F64 32
#define LATENT_PANEL_HEIGHT_F32 64

/// Whether the AVX2 versions run: on a CPU that has AVX2, unless turned off.
int latent_kernels_avx2(void);

/// Turns the AVX2 versions off (0) or back on where the CPU has them (1), for tests that
/// compare the two; returns whether they run now.
int latent_kernels_use_avx2(int use);

/// The gathering product D · S, one block of one panel per call: D is rows x p (column-major),
/// S is p x q in CSC form, out is rows x q. `packed` holds columns first..<last of the panel's
/// rows top..<top+h of D (h = min(panel height, rows - top)), the panel height's values per
/// column, zero below h (`latent_pack_panel_*`). For each column j in j0..<j1 of S:
/// out[top..<top+h, j] += sum over its entries (i, v) with first <= i < last of v * D[.., i].
/// Blocks of a panel come in order from first = 0, which starts each column's `cursor`
/// (q positions; each call touches j0..<j1 only, so threads can share it on disjoint ranges).
/// _floats: a Float32 panel and Float64 S and result, each float converted as it is loaded:
/// the bits of the Float64 product on D converted first. _halves: a half-precision panel of
/// scaled rows (`latent_pack_panel_halves`), each row's sum multiplied by `unscale` (the
/// panel height's values) before it is added; `unscale` is ignored by the others.
#define LATENT_GATHER_BLOCK(name, PACKED, SCALAR) \
    void name(const PACKED *packed, intptr_t first, intptr_t last, intptr_t rows, intptr_t top, \
              const intptr_t *starts, const int32_t *indices, const SCALAR *values, SCALAR *out, \
              intptr_t j0, intptr_t j1, intptr_t *cursor, const SCALAR *unscale);
LATENT_GATHER_BLOCK(latent_gather_block_f64, double, double)
LATENT_GATHER_BLOCK(latent_gather_block_floats_f64, float, double)
LATENT_GATHER_BLOCK(latent_gather_block_halves_f64, uint16_t, double)
LATENT_GATHER_BLOCK(latent_gather_block_f32, float, float)
LATENT_GATHER_BLOCK(latent_gather_block_halves_f32, uint16_t, float)
#undef LATENT_GATHER_BLOCK

/// Packs columns first..<last of rows top..<top+h of D (rows x p, column-major) for the
/// gathering kernels: `height` values per column from `packed` on, zero below h = min(height,
/// rows - top). _halves: each value times scales[t] (powers of two, so exact), rounded to the
/// nearest half, ties to even.
void latent_pack_panel_f64(const double *dense, intptr_t rows, intptr_t top, intptr_t height, intptr_t first,
                           intptr_t last, double *packed);
void latent_pack_panel_f32(const float *dense, intptr_t rows, intptr_t top, intptr_t height, intptr_t first,
                           intptr_t last, float *packed);
void latent_pack_panel_halves(const float *dense, intptr_t rows, intptr_t top, intptr_t height, intptr_t first,
                              intptr_t last, const float *scales, uint16_t *packed);
/// maxima[t] = max(maxima[t], |D[t, i]|) over columns first..<last of D (rows x p).
void latent_row_magnitudes_f32(const float *dense, intptr_t rows, intptr_t first, intptr_t last, float *maxima);

/// out[top..<top+h, j] = sum over entries (j, v) of column i of T of v * D[top..<top+h, i],
/// where T (q x p, CSC) is the transpose of the sparse factor: D is rows x p, out rows x q.
/// `accumulator` has room for (panel height) x (`block` + 1) values; `cursor` for p positions.
void latent_scatter_panel_f64(const double *dense, intptr_t rows, intptr_t p, intptr_t q,
                              const intptr_t *starts, const int32_t *indices, const double *values,
                              double *out, intptr_t top, double *accumulator, intptr_t block, intptr_t *cursor);
void latent_scatter_panel_f32(const float *dense, intptr_t rows, intptr_t p, intptr_t q,
                              const intptr_t *starts, const int32_t *indices, const float *values,
                              float *out, intptr_t top, float *accumulator, intptr_t block, intptr_t *cursor);
/// The same in panels of 32 Float32 rows: `accumulator` has room for 32 x (`block` + 1).
void latent_scatter_panel_narrow_f32(const float *dense, intptr_t rows, intptr_t p, intptr_t q,
                                     const intptr_t *starts, const int32_t *indices, const float *values,
                                     float *out, intptr_t top, float *accumulator, intptr_t block, intptr_t *cursor);

/// Columns first..<last of Omega * S, for a sparse sign matrix Omega (r x p, `per_column`
/// entries per column at sign_rows/sign_values) and S (p x q, CSC): out is r x q, zeroed.
void latent_sign_product_f64(intptr_t r, intptr_t per_column, const int32_t *sign_rows, const double *sign_values,
                             const intptr_t *starts, const int32_t *indices, const double *values,
                             double *out, intptr_t first, intptr_t last);
void latent_sign_product_f32(intptr_t r, intptr_t per_column, const int32_t *sign_rows, const float *sign_values,
                             const intptr_t *starts, const int32_t *indices, const float *values,
                             float *out, intptr_t first, intptr_t last);

/// gather_outer: out (k values) += weights[j] * vector sources[j] of `vectors` (k values each),
/// for each j < n in order.
void latent_gather_outer_f64(intptr_t k, intptr_t n, const int32_t *sources, const double *vectors, const double *weights,
                             double *out);
void latent_gather_outer_f32(intptr_t k, intptr_t n, const int32_t *sources, const float *vectors, const float *weights,
                             float *out);

/// The special functions and the per-document E-step of variational LDA. ψ and exp are
/// computed in the type's own precision (as gensim does for Float32 models) by the library's
/// own routines, which give the same bits on every variant (about one unit in the last place
/// for exp, a few for ψ; ψ(x) is NaN for x <= 0, and exp saturates to 0 and +inf).
/// digamma: out[i] = ψ(x[i]); digamma_columns: out[c k + i] = ψ(x[c k + i]) − shifts[i] for
/// `columns` columns of k values; exponential: out[i] = e^x[i].
void latent_digamma_f64(intptr_t count, const double *x, double *out);
void latent_digamma_f32(intptr_t count, const float *x, float *out);
void latent_digamma_columns_f64(intptr_t k, intptr_t columns, const double *x, const double *shifts, double *out);
void latent_digamma_columns_f32(intptr_t k, intptr_t columns, const float *x, const float *shifts, float *out);
void latent_exponential_f64(intptr_t count, const double *x, double *out);
void latent_exponential_f32(intptr_t count, const float *x, float *out);

/// k rounded up to a multiple of 8: the length of the E-step's vectors over the topics.
intptr_t latent_lda_column_stride(intptr_t k);
/// The scratch space latent_lda_document needs for k topics and n terms, in values.
intptr_t latent_lda_scratch_size(intptr_t k, intptr_t n);

/// The variational E-step of one document with k topics and n distinct terms (gensim's
/// `LdaModel.inference` loop): the document's columns of exp E[ln β] are read where they
/// are, column ids[j] of `matrix` (k rows). From the initial γ in `gamma`, up to `iterations`
/// times: γ = α + exp E[ln θ] ⊙ Σ_w (counts[w] / phinorm[w]) column w, with phinorm =
/// exp E[ln θ] · column w + epsilon, until the mean |Δγ| < threshold. Each dot product is
/// summed as 8 partial sums added in a fixed tree, the same on every variant. On return
/// gamma, elogtheta (E[ln θ]), exp_elogtheta and phinorm are those of the final γ,
/// weights[w] = counts[w] / phinorm[w]; last_gamma (k) and scratch
/// (latent_lda_scratch_size(k, n)) are scratch space. The result is the number of iterations
/// run, negated when γ did not converge.
intptr_t latent_lda_document_f64(intptr_t k, intptr_t n, const double *matrix, const int32_t *ids,
                                 const double *counts, const double *alpha, intptr_t iterations, double threshold,
                                 double epsilon, double *gamma, double *elogtheta, double *exp_elogtheta,
                                 double *phinorm, double *weights, double *last_gamma, double *scratch);
intptr_t latent_lda_document_f32(intptr_t k, intptr_t n, const float *matrix, const int32_t *ids,
                                 const float *counts, const float *alpha, intptr_t iterations, float threshold,
                                 float epsilon, float *gamma, float *elogtheta, float *exp_elogtheta,
                                 float *phinorm, float *weights, float *last_gamma, float *scratch);

/// prefetch_columns: asks the CPU to bring the columns ids[0..<n] of `matrix` (k rows) into
/// its caches (for the next document, while this one runs).
void latent_prefetch_columns_f64(intptr_t k, intptr_t n, const double *matrix, const int32_t *ids);
void latent_prefetch_columns_f32(intptr_t k, intptr_t n, const float *matrix, const int32_t *ids);

/// Half precision (IEEE binary16), for the similarity index's screening copy.
/// half_from_float: rounds each value to nearest, ties to even (the same on every CPU).
void latent_half_from_float(const float *in, uint16_t *out, intptr_t count);
/// float_from_half: the exact float of a half.
float latent_float_from_half(uint16_t half);
/// half_dots: out[r] = sum over j of rows[r * dimension + j] * query[j], for r < count, summed
/// in float (F16C and AVX2 where the CPU has them). The sums' order differs between the
/// variants: the results are screening estimates, within the bound the index allows for.
void latent_half_dots(const uint16_t *rows, intptr_t count, intptr_t dimension, const float *query, float *out);

#endif