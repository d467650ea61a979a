import LatentKernels

// The C kernels (Sources/Kernels) for each scalar type; see `LinearAlgebraScalar`.

/// A kernel for one block of one panel of a gathering product (`latent_gather_block_*`): the
/// panel packed as `Packed`, S and the result of type `Scalar`.
public typealias GatherKernel<Packed, Scalar> = (
    _ packed: UnsafePointer<Packed>, _ first: Int, _ last: Int, _ rows: Int, _ top: Int, _ starts: UnsafePointer<Int>,
    _ indices: UnsafePointer<Int32>, _ values: UnsafePointer<Scalar>, _ out: UnsafeMutablePointer<Scalar>,
    _ firstColumn: Int, _ endColumn: Int, _ cursor: UnsafeMutablePointer<Int>, _ unscale: UnsafePointer<Scalar>
) -> Void

/// Packs columns first..<last of a panel of D for the gathering kernels
/// (`latent_pack_panel_*`): D has `rows` rows; the panel starts at row `top` and holds
/// `height` values per column.
public typealias PackKernel<Scalar> = (
    _ dense: UnsafePointer<Scalar>, _ rows: Int, _ top: Int, _ height: Int, _ first: Int, _ last: Int,
    _ packed: UnsafeMutablePointer<Scalar>
) -> Void

/// A kernel for one panel of a scattering product (`latent_scatter_panel_*`).
public typealias ScatterKernel<Scalar> = (
    _ dense: UnsafePointer<Scalar>, _ rows: Int, _ p: Int, _ q: Int, _ starts: UnsafePointer<Int>,
    _ indices: UnsafePointer<Int32>, _ values: UnsafePointer<Scalar>, _ out: UnsafeMutablePointer<Scalar>,
    _ top: Int, _ accumulator: UnsafeMutablePointer<Scalar>, _ block: Int, _ cursor: UnsafeMutablePointer<Int>
) -> Void

extension Double {
    public static var panelHeights: (tall: Int, narrow: Int) { (Int(LATENT_PANEL_HEIGHT_F64), Int(LATENT_PANEL_HEIGHT_F64)) }

    public static func scatterKernel(narrow: Bool) -> ScatterKernel<Double> { latent_scatter_panel_f64 }
    public static var gatherKernel: GatherKernel<Double, Double> { latent_gather_block_f64 }
    public static var halfGatherKernel: GatherKernel<UInt16, Double> { latent_gather_block_halves_f64 }
    public static var packKernel: PackKernel<Double> { latent_pack_panel_f64 }

    public static func prefetchColumns(k: Int, n: Int, matrix: UnsafePointer<Double>, ids: UnsafePointer<Int32>) {
        latent_prefetch_columns_f64(k, n, matrix, ids)
    }

    public static func digamma(count: Int, _ x: UnsafePointer<Double>, out: UnsafeMutablePointer<Double>) {
        latent_digamma_f64(count, x, out)
    }

    public static func digammaColumns(k: Int, columns: Int, _ x: UnsafePointer<Double>, shifts: UnsafePointer<Double>,
                                      out: UnsafeMutablePointer<Double>) {
        latent_digamma_columns_f64(k, columns, x, shifts, out)
    }

    public static func exponential(count: Int, _ x: UnsafePointer<Double>, out: UnsafeMutablePointer<Double>) {
        latent_exponential_f64(count, x, out)
    }

    public static func ldaDocument(k: Int, n: Int, matrix: UnsafePointer<Double>, ids: UnsafePointer<Int32>?,
                                   counts: UnsafePointer<Double>, alpha: UnsafePointer<Double>, iterations: Int,
                                   threshold: Double, epsilon: Double, gamma: UnsafeMutablePointer<Double>,
                                   elogtheta: UnsafeMutablePointer<Double>, expElogtheta: UnsafeMutablePointer<Double>,
                                   phinorm: UnsafeMutablePointer<Double>, weights: UnsafeMutablePointer<Double>,
                                   lastGamma: UnsafeMutablePointer<Double>, scratch: UnsafeMutablePointer<Double>) -> Int {
        latent_lda_document_f64(k, n, matrix, ids, counts, alpha, iterations, threshold, epsilon, gamma, elogtheta,
                                  expElogtheta, phinorm, weights, lastGamma, scratch)
    }

    public static func gatherOuter(k: Int, n: Int, sources: UnsafePointer<Int32>, vectors: UnsafePointer<Double>,
                                   weights: UnsafePointer<Double>, out: UnsafeMutablePointer<Double>) {
        latent_gather_outer_f64(k, n, sources, vectors, weights, out)
    }

    public static func signProduct(rows: Int, perColumn: Int, signRows: UnsafePointer<Int32>, signValues: UnsafePointer<Double>,
                                   starts: UnsafePointer<Int>, indices: UnsafePointer<Int32>, values: UnsafePointer<Double>,
                                   out: UnsafeMutablePointer<Double>, columns: Range<Int>) {
        latent_sign_product_f64(rows, perColumn, signRows, signValues, starts, indices, values, out,
                                columns.lowerBound, columns.upperBound)
    }
}

extension Float {
    public static var panelHeights: (tall: Int, narrow: Int) { (Int(LATENT_PANEL_HEIGHT_F32), Int(LATENT_PANEL_HEIGHT_F64)) }

    public static func scatterKernel(narrow: Bool) -> ScatterKernel<Float> {
        narrow ? latent_scatter_panel_narrow_f32 : latent_scatter_panel_f32
    }
    public static var gatherKernel: GatherKernel<Float, Float> { latent_gather_block_f32 }
    public static var halfGatherKernel: GatherKernel<UInt16, Float> { latent_gather_block_halves_f32 }
    public static var packKernel: PackKernel<Float> { latent_pack_panel_f32 }

    public static func prefetchColumns(k: Int, n: Int, matrix: UnsafePointer<Float>, ids: UnsafePointer<Int32>) {
        latent_prefetch_columns_f32(k, n, matrix, ids)
    }

    public static func digamma(count: Int, _ x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
        latent_digamma_f32(count, x, out)
    }

    public static func digammaColumns(k: Int, columns: Int, _ x: UnsafePointer<Float>, shifts: UnsafePointer<Float>,
                                      out: UnsafeMutablePointer<Float>) {
        latent_digamma_columns_f32(k, columns, x, shifts, out)
    }

    public static func exponential(count: Int, _ x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
        latent_exponential_f32(count, x, out)
    }

    public static func ldaDocument(k: Int, n: Int, matrix: UnsafePointer<Float>, ids: UnsafePointer<Int32>?,
                                   counts: UnsafePointer<Float>, alpha: UnsafePointer<Float>, iterations: Int,
                                   threshold: Float, epsilon: Float, gamma: UnsafeMutablePointer<Float>,
                                   elogtheta: UnsafeMutablePointer<Float>, expElogtheta: UnsafeMutablePointer<Float>,
                                   phinorm: UnsafeMutablePointer<Float>, weights: UnsafeMutablePointer<Float>,
                                   lastGamma: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) -> Int {
        latent_lda_document_f32(k, n, matrix, ids, counts, alpha, iterations, threshold, epsilon, gamma, elogtheta,
                                  expElogtheta, phinorm, weights, lastGamma, scratch)
    }

    public static func gatherOuter(k: Int, n: Int, sources: UnsafePointer<Int32>, vectors: UnsafePointer<Float>,
                                   weights: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
        latent_gather_outer_f32(k, n, sources, vectors, weights, out)
    }

    public static func signProduct(rows: Int, perColumn: Int, signRows: UnsafePointer<Int32>, signValues: UnsafePointer<Float>,
                                   starts: UnsafePointer<Int>, indices: UnsafePointer<Int32>, values: UnsafePointer<Float>,
                                   out: UnsafeMutablePointer<Float>, columns: Range<Int>) {
        latent_sign_product_f32(rows, perColumn, signRows, signValues, starts, indices, values, out,
                                columns.lowerBound, columns.upperBound)
    }
}

/// Which version of the C kernels runs: the AVX2 one where the CPU has it, else the
/// portable one. Both give bit-identical results.
public enum Kernels {
    /// "AVX2" or "portable".
    public static var instructionSet: String { latent_kernels_avx2() != 0 ? "AVX2" : "portable" }

    /// Runs the portable version (false) or the fastest the CPU has (true) from now on;
    /// returns whether AVX2 runs. For tests and comparisons: results do not change.
    @discardableResult
    public static func useAVX2(_ use: Bool) -> Bool { latent_kernels_use_avx2(use ? 1 : 0) != 0 }
}

extension Kernels {
    /// The scratch space, in values, of the LDA E-step of a document (`ldaDocument`) with k
    /// topics and n terms.
    public static func ldaScratchSize(topics k: Int, terms n: Int) -> Int { latent_lda_scratch_size(k, n) }
}
