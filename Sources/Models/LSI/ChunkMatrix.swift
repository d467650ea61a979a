import LatentCorpus
import LatentLinearAlgebra
import Synchronization

/// A chunk of documents as a sparse matrix over only the terms it contains.
///
/// A chunk of c documents touches at most nnz of the model's m terms; decomposing it over
/// those rows keeps every dense intermediate (Y = AΩ, Q) at |terms| x l instead of m x l.
/// Checking the chunk against the model (term ids inside the vocabulary, finite weights)
/// happens here, once, with errors that name the document.
struct ChunkMatrix<Scalar: LinearAlgebraScalar>: Sendable {
    /// The model's term ids of the rows, ascending.
    let terms: [Int32]
    /// |terms| x documents.
    let matrix: SparseColumns<Scalar>
    let firstDocument: Int
    let termCount: Int

    var documentCount: Int { matrix.columns }

    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    init(_ chunk: SparseChunk, termCount: Int) throws {
        firstDocument = chunk.firstDocument
        self.termCount = termCount
        if !Self.entriesFit(chunk, termCount: termCount) { try Self.throwFirstMisfit(chunk, termCount: termCount) }
        let (distinct, localIDs) = LocalTerms.numbered(chunk.termIDs, termCount: termCount)
        terms = distinct
        // In Float64 the weights are shared with the chunk, not copied (a cast between
        // identical array types; `as?` would copy element by element); in Float32 they are
        // converted on `BLAS.threads` threads.
        let weights = SparseColumns(rows: distinct.count, columns: chunk.documentCount, columnStarts: chunk.columnStarts,
                                    rowIndices: localIDs, values: chunk.weights)
        matrix = Scalar.self == Double.self ? unsafeBitCast(weights, to: SparseColumns<Scalar>.self) : weights.converted(to: Scalar.self)
    }

    /// Whether every entry of `chunk` has a term id inside the model and a weight finite in
    /// `Scalar`: one sweep on `BLAS.threads` threads (above a million entries).
    private static func entriesFit(_ chunk: SparseChunk, termCount: Int) -> Bool {
        let count = chunk.nonZeroCount
        let workers = count >= 1 << 20 ? BLAS.threads : 1
        let fits = Mutex(true)
        chunk.termIDs.withUnsafeBufferPointer { ids in
            chunk.weights.withUnsafeBufferPointer { weights in
                concurrently(workers: workers) { w in
                    var all = true
                    for entry in (count * w / workers)..<(count * (w + 1) / workers) {
                        let id = ids[entry], weight = weights[entry]
                        all = all && id >= 0 && Int(id) < termCount && weight.isFinite && Scalar(weight).isFinite
                    }
                    if !all { fits.withLock { $0 = false } }
                }
            }
        }
        return fits.withLock { $0 }
    }

    /// Throws the error for the first entry, in document order, that `entriesFit` refuses.
    private static func throwFirstMisfit(_ chunk: SparseChunk, termCount: Int) throws {
        for j in 0..<chunk.documentCount {
            for entry in chunk.columnStarts[j]..<chunk.columnStarts[j + 1] {
                let id = chunk.termIDs[entry], weight = chunk.weights[entry]
                guard id >= 0 && Int(id) < termCount else {
                    throw ModelError(code: .invalidInput, message:
                        "document #\(chunk.firstDocument + j) has term id \(id), outside the model's \(termCount) terms (ids 0 to \(termCount - 1)): the corpus was made with another vocabulary")
                }
                guard weight.isFinite && Scalar(weight).isFinite else {
                    throw ModelError(code: .invalidInput, message:
                        "document #\(chunk.firstDocument + j): weight \(weight) of term \(id) is not a finite \(Scalar.self)")
                }
            }
        }
    }

    /// `local` (r x |terms|) spread over all the model's terms (r x termCount), zero elsewhere.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    func expand(_ local: Matrix<Scalar>) -> Matrix<Scalar> {
        if terms.count == termCount { return local }  // every term present: already global
        var global = Matrix<Scalar>(rows: local.rows, columns: termCount)
        let r = local.rows
        for (row, term) in terms.enumerated() {
            for i in 0..<r { global.storage[i + Int(term) * r] = local.storage[i + row * r] }
        }
        return global
    }

    /// The columns of `global` (r x termCount) for this chunk's terms.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    func restrict(_ global: Matrix<Scalar>) -> Matrix<Scalar> {
        if terms.count == termCount { return global }
        var local = Matrix<Scalar>(rows: global.rows, columns: terms.count)
        let r = global.rows
        for (row, term) in terms.enumerated() {
            for i in 0..<r { local.storage[i + row * r] = global.storage[i + Int(term) * r] }
        }
        return local
    }
}

/// The seed of one test matrix of the randomized SVDs (a `SparseSignMatrix`), from the
/// model's seed, the pass and the chunk index alone, so that a job gives the same result on
/// any thread or worker, and the chunks of `addDocuments` draw fresh matrices.
func testMatrixSeed(_ seed: UInt64, pass: Int, chunk: Int) -> UInt64 {
    var mixer = SeededGenerator(seed: seed)
    return mixer.next() ^ (UInt64(truncatingIfNeeded: pass) &* 0x9E37_79B9_7F4A_7C15)
        ^ (UInt64(truncatingIfNeeded: chunk) &* 0xD1B5_4A32_D192_ED03)
}
