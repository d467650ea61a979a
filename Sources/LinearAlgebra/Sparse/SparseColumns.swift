import Dispatch
import LatentKernels
/// A sparse matrix in compressed sparse column form (CSC): column j holds the entries
/// `rowIndices[columnStarts[j] ..< columnStarts[j + 1]]` with the matching `values`, row
/// indices ascending within a column.
///
/// This is the linear-algebra view of a chunk of documents (terms x documents); its one
/// heavy operation is the dense x sparse product `Matrix.product(_:_:transpose:)`. The
/// transpose (`transposed()`, a counting sort costing one pass over the entries) gives the
/// product with Aᵀ, and the second form one of the kernels works on.
///
/// The arrays are the program's, not a file's: the initialiser checks them with
/// `precondition`, so callers validate anything read from outside first.
public struct SparseColumns<Scalar: LinearAlgebraScalar>: Sendable, Equatable {
    public let rows: Int
    public let columns: Int
    public let columnStarts: [Int]
    public let rowIndices: [Int32]
    public let values: [Scalar]

    public init(rows: Int, columns: Int, columnStarts: [Int], rowIndices: [Int32], values: [Scalar]) {
        precondition(rows >= 0 && rows <= Int(Int32.max) && columns >= 0, "sparse matrix dimensions out of range")
        precondition(columnStarts.count == columns + 1 && columnStarts.first == 0 && columnStarts.last == rowIndices.count,
                     "column starts do not delimit the entries")
        precondition(rowIndices.count == values.count, "row indices and values differ in count")
        self.rows = rows
        self.columns = columns
        self.columnStarts = columnStarts
        self.rowIndices = rowIndices
        self.values = values
    }

    public var nonZeroCount: Int { rowIndices.count }

    /// The transpose, still in CSC form (so the CSR form of the receiver). Row indices of
    /// the result ascend within each column because the entries are visited column by column.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    public func transposed() -> SparseColumns {
        var starts = [Int](repeating: 0, count: rows + 1)
        for row in rowIndices { starts[Int(row) + 1] += 1 }
        for i in 0..<rows { starts[i + 1] += starts[i] }
        var next = starts
        var indices = [Int32](repeating: 0, count: nonZeroCount)
        var transposedValues = [Scalar](repeating: 0, count: nonZeroCount)
        for j in 0..<columns {
            for entry in columnStarts[j]..<columnStarts[j + 1] {
                let row = Int(rowIndices[entry])
                indices[next[row]] = Int32(j)
                transposedValues[next[row]] = values[entry]
                next[row] += 1
            }
        }
        return SparseColumns(rows: columns, columns: rows, columnStarts: starts, rowIndices: indices, values: transposedValues)
    }

    /// The same matrix, dense.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    public func dense() -> Matrix<Scalar> {
        var result = Matrix<Scalar>(rows: rows, columns: columns)
        for j in 0..<columns {
            for entry in columnStarts[j]..<columnStarts[j + 1] {
                result.storage[Int(rowIndices[entry]) + j * rows] += values[entry]
            }
        }
        return result
    }
}

extension Matrix {
    /// `D · S` for a dense r x p matrix D and a sparse p x q matrix S, as a dense r x q matrix.
    ///
    /// Costs 2·r·nnz(S) flops, bound by memory traffic rather than arithmetic. Two kernels
    /// compute it, each on panels of 32 rows of D; this picks the faster for the shapes:
    /// - gathering (`gatherProduct`): column j of the result sums the columns of D named by
    ///   column j of S, read from a packed copy of D swept in cache-sized blocks;
    /// - scattering (`scatterProduct`, over Sᵀ): each column of D, read once in order, is
    ///   added into the result columns it contributes to. It wins when the result fits one
    ///   cached block and D does not (LSI: 100,000 terms into a chunk of 20,000 documents,
    ///   0.19 s against 0.26 s for 500 rows); gathering wins otherwise (both sides large, or
    ///   D small).
    /// `transpose`, when the caller already has Sᵀ, saves computing it for the scatter.
    public static func product(_ dense: Matrix, _ sparse: SparseColumns<Scalar>,
                               transpose: SparseColumns<Scalar>? = nil) -> Matrix {
        precondition(dense.columns == sparse.rows, "dense x sparse: inner dimensions \(dense.columns) and \(sparse.rows) differ")
        if sparse.rows > blockWidth && sparse.columns <= blockWidth {
            let transposed = transpose ?? sparse.transposed()
            precondition(transposed.rows == sparse.columns && transposed.columns == sparse.rows, "the transpose has the wrong shape")
            return scatterProduct(dense, transposed)
        }
        return gatherProduct(dense, sparse)
    }

    /// `D · Sᵀ` for a dense r x p matrix D and a sparse q x p matrix S, as a dense r x q
    /// matrix, always by the scattering kernel (see `product(_:_:transpose:)`).
    public static func product(_ dense: Matrix, transposed sparse: SparseColumns<Scalar>) -> Matrix {
        precondition(dense.columns == sparse.columns, "dense x sparseᵀ: inner dimensions \(dense.columns) and \(sparse.columns) differ")
        return scatterProduct(dense, sparse)
    }
}

/// Rows of D handled per kernel call: 32 values are 4 (Float) or 8 (Double) 32-byte
/// vectors, few enough to stay in registers as accumulators.
private let panelHeight = Int(LATENT_PANEL_HEIGHT)

/// Columns of the cached side (the packed panel of a gather, the accumulator of a scatter)
/// handled at a time: 32,768 x 32 Float64 values are 8 MiB, which stays in the last-level
/// cache with one such block per thread. Larger sides are swept in blocks.
private let blockWidth = 32_768

/// Runs `body(top, worker)` for the top row of every panel of `rows` rows. Panels write
/// disjoint rows of the result, so they run on `BLAS.threads` threads at once: the executor
/// sets that to 1 while jobs run side by side, and to every core for a job that runs alone.
/// `workers` is at least 1; `worker` (below it) selects the caller's per-thread scratch buffer.
@inline(__always)
private func forEachPanel(rows: Int, workers: Int, _ body: (_ top: Int, _ worker: Int) -> Void) {
    let panels = (rows + panelHeight - 1) / panelHeight
    concurrently(workers: workers) { worker in
        var panel = worker
        while panel < panels {
            body(panel * panelHeight, worker)
            panel += workers
        }
    }
}

/// Runs `body(worker)` for every worker below `workers` on threads of their own, and returns
/// when all have. For kernels whose workers write disjoint parts of their result through
/// raw pointers, which the compiler cannot prove safe to share.
@inline(__always)
public func concurrently(workers: Int, _ body: (_ worker: Int) -> Void) {
    if workers <= 1 {
        body(0)
        return
    }
    withoutActuallyEscaping(body) { body in
        let shared = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in shared.value(worker) }
    }
}

/// Hands a value the compiler cannot prove thread-safe to `concurrentPerform`.
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// The number of panel threads for a product with `rows` rows.
@inline(__always)
private func panelWorkers(rows: Int) -> Int {
    max(1, min(BLAS.threads, (rows + panelHeight - 1) / panelHeight))
}

/// `D · S` by gathering: for each panel of 32 rows of D, those rows are first copied into a
/// contiguous p x 32 block, then every column of S accumulates its entries' 32-value pieces
/// in registers and adds them to the result once (the C kernel `latent_gather_panel`).
@_specialize(where Scalar == Double)
@_specialize(where Scalar == Float)
func gatherProduct<Scalar: LinearAlgebraScalar>(_ dense: Matrix<Scalar>, _ sparse: SparseColumns<Scalar>) -> Matrix<Scalar> {
    let r = dense.rows, p = dense.columns, q = sparse.columns
    var result = Matrix<Scalar>(rows: r, columns: q)
    if r == 0 || q == 0 || p == 0 || sparse.nonZeroCount == 0 { return result }
    let workers = panelWorkers(rows: r)
    let block = min(p, blockWidth)
    withKernelBuffers(dense, sparse, into: &result, scratch: workers * panelHeight * block, cursors: workers * q) { buffers in
        forEachPanel(rows: r, workers: workers) { top, worker in
            Scalar.gatherPanel(buffers.dense, rows: r, p: p, q: q, starts: buffers.starts, indices: buffers.indices,
                               values: buffers.values, out: buffers.out, top: top,
                               packed: buffers.scratch + worker * panelHeight * block, block: block,
                               cursor: buffers.cursors + worker * q)
        }
    }
    return result
}

/// `D · Sᵀ` by scattering: for each panel of 32 rows of D, a q x 32 accumulator receives,
/// for every entry (j, i, v) of S, v times the 32 values of column i of D; then it is
/// copied into the result. D's columns are read in order (the C kernel `latent_scatter_panel`).
@_specialize(where Scalar == Double)
@_specialize(where Scalar == Float)
func scatterProduct<Scalar: LinearAlgebraScalar>(_ dense: Matrix<Scalar>, _ sparse: SparseColumns<Scalar>) -> Matrix<Scalar> {
    let r = dense.rows, p = dense.columns, q = sparse.rows
    var result = Matrix<Scalar>(rows: r, columns: q)
    if r == 0 || q == 0 || p == 0 || sparse.nonZeroCount == 0 { return result }
    let workers = panelWorkers(rows: r)
    let block = min(q, blockWidth)
    let scratch = panelHeight * (block + 1)
    withKernelBuffers(dense, sparse, into: &result, scratch: workers * scratch, cursors: workers * p) { buffers in
        forEachPanel(rows: r, workers: workers) { top, worker in
            Scalar.scatterPanel(buffers.dense, rows: r, p: p, q: q, starts: buffers.starts, indices: buffers.indices,
                                values: buffers.values, out: buffers.out, top: top,
                                accumulator: buffers.scratch + worker * scratch, block: block,
                                cursor: buffers.cursors + worker * p)
        }
    }
    return result
}

/// The raw buffers one kernel call works on.
private struct KernelBuffers<Scalar> {
    let dense: UnsafePointer<Scalar>
    let starts: UnsafePointer<Int>
    let indices: UnsafePointer<Int32>
    let values: UnsafePointer<Scalar>
    let out: UnsafeMutablePointer<Scalar>
    let scratch: UnsafeMutablePointer<Scalar>
    let cursors: UnsafeMutablePointer<Int>
}

/// Opens the operands, the result and fresh scratch space (`scratch` values, `cursors`
/// positions) for a kernel. Callers have checked that every dimension and the entry count
/// are positive, so every buffer has a base address.
@inline(__always)
private func withKernelBuffers<Scalar: LinearAlgebraScalar>(
    _ dense: Matrix<Scalar>, _ sparse: SparseColumns<Scalar>, into result: inout Matrix<Scalar>,
    scratch scratchCount: Int, cursors cursorCount: Int, _ body: (KernelBuffers<Scalar>) -> Void
) {
    var scratch = [Scalar](repeating: 0, count: scratchCount)
    var cursors = [Int](repeating: 0, count: cursorCount)
    dense.storage.withUnsafeBufferPointer { denseBuffer in
        sparse.columnStarts.withUnsafeBufferPointer { starts in
            sparse.rowIndices.withUnsafeBufferPointer { indices in
                sparse.values.withUnsafeBufferPointer { values in
                    result.storage.withUnsafeMutableBufferPointer { out in
                        scratch.withUnsafeMutableBufferPointer { scratchBuffer in
                            cursors.withUnsafeMutableBufferPointer { cursorBuffer in
                                guard let d = denseBuffer.baseAddress, let o = out.baseAddress,
                                      let s = starts.baseAddress, let i = indices.baseAddress, let v = values.baseAddress,
                                      let work = scratchBuffer.baseAddress, let positions = cursorBuffer.baseAddress
                                else { return }
                                body(KernelBuffers(dense: d, starts: s, indices: i, values: v, out: o,
                                                   scratch: work, cursors: positions))
                            }
                        }
                    }
                }
            }
        }
    }
}
