import Foundation
import LatentCorpus
import LatentKernels
import LatentLinearAlgebra

#if canImport(Glibc)
import Glibc
#endif

/// The files of one shard of a similarity index, all `.npy` arrays that NumPy and SciPy read
/// as they are:
/// - dense: `NAME.npy`, documents x dimension, each row a unit vector;
/// - sparse: `NAME.indptr.npy` (`<i8`, documents + 1), `NAME.indices.npy` (`<i4`) and
///   `NAME.data.npy`, the rows of a CSR matrix (`scipy.sparse.csr_matrix((data, indices,
///   indptr))`), each a unit vector with its term ids ascending.
///
/// A dense shard of an index with screening also has `NAME.f16.npy`, its rows in half
/// precision (`<f2`).
enum ShardFiles {
    static func dense(_ name: String) -> [String] { [name + ".npy"] }
    static func screening(_ name: String) -> String { name + ".f16.npy" }
    static func sparse(_ name: String) -> [String] { [name + ".indptr.npy", name + ".indices.npy", name + ".data.npy"] }
}

/// An `.npy` file written as a stream: a header with room for any shape, the values as they
/// come, and the real shape written into the header at the end. Written under a temporary
/// name beside the destination and renamed into place by `commit()`.
final class NPYStreamWriter {
    private let writer: AtomicFileWriter
    private let descr: String
    private static let headerLength = 128

    init(path: String, descr: String) throws {
        writer = try AtomicFileWriter(path: path, kind: .numpyArray, replacing: .sameKind)
        self.descr = descr
        try writer.write(bytes: NumPyHeader.encoded(descr: descr, shape: [0], length: Self.headerLength))
    }

    var path: String { writer.path }

    func append<T: BitwiseCopyable>(_ values: UnsafeBufferPointer<T>) throws {
        try writer.write(raw: UnsafeRawBufferPointer(values))
    }

    func append<T: BitwiseCopyable>(_ values: [T]) throws {
        try values.withUnsafeBufferPointer { try append($0) }
    }

    /// Writes the final shape into the header and renames the file into place.
    func commit(shape: [Int]) throws {
        let header = NumPyHeader.encoded(descr: descr, shape: shape, length: Self.headerLength)
        guard header.count == Self.headerLength else {
            throw CorpusError(code: .io, file: writer.path, message: "the shape \(shape) does not fit in the .npy header")
        }
        try writer.overwrite(at: 0, bytes: header)
        try writer.commit()
    }
}

/// One `.npy` file of a shard, mapped read-only and checked against what the index says it
/// holds.
struct MappedArray<Element: BitwiseCopyable>: @unchecked Sendable {
    let file: MappedFile
    let values: UnsafeBufferPointer<Element>

    init(path: String, descr: String, shape: [Int]) throws {
        file = try MappedFile(path: path)
        let header = try NumPyHeader(parsing: file.bytes, source: path)
        guard header.descr == descr else {
            throw CorpusError(code: .format, file: path, message: "holds '\(header.descr)' values; the index needs '\(descr)'")
        }
        guard header.shape == shape else {
            throw CorpusError(code: .inconsistent, file: path, message: "shape \(header.shape); index.json says \(shape)")
        }
        let count = try header.checkedCount(elementSize: MemoryLayout<Element>.size, fileSize: file.bytes.count, source: path)
        guard header.dataStart % MemoryLayout<Element>.alignment == 0 else {
            throw CorpusError(code: .format, file: path, message: "values start at byte \(header.dataStart), not aligned for reading in place")
        }
        if count == 0 {
            values = UnsafeBufferPointer(start: nil, count: 0)
        } else {
            // A non-empty mapping has a base address.
            let base = file.bytes.baseAddress.map { $0 + header.dataStart }
            values = UnsafeBufferPointer(start: base?.assumingMemoryBound(to: Element.self), count: count)
        }
    }

    var bytes: Int { file.bytes.count }
}

/// A shard's vectors, mapped.
enum ShardVectors<Scalar: LinearAlgebraScalar>: @unchecked Sendable {
    /// Documents x dimension, row after row; and the same in half precision, for screening.
    case dense(MappedArray<Scalar>, half: MappedArray<UInt16>?)
    case sparse(indptr: MappedArray<Int64>, indices: MappedArray<Int32>, data: MappedArray<Scalar>)

    var bytes: Int {
        switch self {
        case .dense(let rows, let half): rows.bytes + (half?.bytes ?? 0)
        case .sparse(let indptr, let indices, let data): indptr.bytes + indices.bytes + data.bytes
        }
    }

    /// Maps the shard's files and checks them against the index: shapes, element types, and
    /// for a sparse shard row offsets that ascend from 0 to its non-zeros and term ids below
    /// `dimension`, ascending within each row.
    static func open(folder: String, shard: IndexManifest.Shard, dense: Bool, screening: Bool, dimension: Int) throws -> ShardVectors {
        let descr = Scalar.self == Float.self ? "<f4" : "<f8"
        if dense {
            let path = folder + "/" + ShardFiles.dense(shard.file)[0]
            let rows = try MappedArray<Scalar>(path: path, descr: descr, shape: [shard.documents, dimension])
            let half = screening ? try MappedArray<UInt16>(path: folder + "/" + ShardFiles.screening(shard.file), descr: "<f2",
                                                           shape: [shard.documents, dimension]) : nil
            return .dense(rows, half: half)
        }
        let names = ShardFiles.sparse(shard.file).map { folder + "/" + $0 }
        let indptr = try MappedArray<Int64>(path: names[0], descr: "<i8", shape: [shard.documents + 1])
        let indices = try MappedArray<Int32>(path: names[1], descr: "<i4", shape: [shard.nonzeros])
        let data = try MappedArray<Scalar>(path: names[2], descr: descr, shape: [shard.nonzeros])
        let offsets = indptr.values
        guard offsets.first == 0, offsets.last == Int64(shard.nonzeros) else {
            throw CorpusError(code: .format, file: names[0], message: "row offsets must run from 0 to \(shard.nonzeros)")
        }
        for row in 0..<shard.documents {
            let start = Int(offsets[row]), end = Int(offsets[row + 1])
            guard start <= end, end <= shard.nonzeros else {
                throw CorpusError(code: .format, file: names[0], message: "row \(row): offsets \(start) to \(end) do not ascend within \(shard.nonzeros)")
            }
            var previous: Int32 = -1
            for entry in start..<end {
                let term = indices.values[entry]
                guard term > previous, Int(term) < dimension else {
                    throw CorpusError(code: .format, file: names[1], message:
                        "row \(row): term id \(term) at entry \(entry) is not ascending within 0..<\(dimension)")
                }
                previous = term
            }
        }
        return .sparse(indptr: indptr, indices: indices, data: data)
    }

    /// The similarities of rows `rows` of the shard to `queries` (dimension x count, column
    /// after column, unit vectors): `scores[r + q * rows.count]`.
    func scores(rows: Range<Int>, dimension: Int, queries: UnsafePointer<Scalar>, count: Int,
                into scores: UnsafeMutablePointer<Scalar>) {
        guard !rows.isEmpty, count > 0 else { return }
        switch self {
        case .dense(let matrix, _):
            guard let base = matrix.values.baseAddress else { return }
            // Rows are the columns of a column-major dimension x documents matrix. A few
            // queries go one by one through gemv, which streams the rows once; gemm would
            // first copy them into its packed panels.
            if count < 4 {
                for q in 0..<count {
                    Scalar.blasGemv(transpose: true, m: Int32(dimension), n: Int32(rows.count), alpha: 1,
                                    a: base + rows.lowerBound * dimension, lda: Int32(max(1, dimension)),
                                    x: queries + q * dimension, beta: 0, y: scores + q * rows.count)
                }
                return
            }
            Scalar.blasGemm(transposeA: true, transposeB: false, m: Int32(rows.count), n: Int32(count), k: Int32(dimension),
                            alpha: 1, a: base + rows.lowerBound * dimension, lda: Int32(max(1, dimension)),
                            b: queries, ldb: Int32(max(1, dimension)), beta: 0, c: scores, ldc: Int32(rows.count))
        case .sparse(let indptr, let indices, let data):
            let offsets = indptr.values, ids = indices.values, values = data.values
            for q in 0..<count {
                let query = queries + q * dimension
                let out = scores + q * rows.count
                for (i, row) in rows.enumerated() {
                    var sum: Scalar = 0
                    for entry in Int(offsets[row])..<Int(offsets[row + 1]) { sum += values[entry] * query[Int(ids[entry])] }
                    out[i] = sum
                }
            }
        }
    }

    /// Row `row` as a dense vector of `dimension` values.
    func row(_ row: Int, dimension: Int) -> [Double] {
        switch self {
        case .dense(let matrix, _):
            return (0..<dimension).map { Double(matrix.values[row * dimension + $0]) }
        case .sparse(let indptr, let indices, let data):
            var vector = [Double](repeating: 0, count: dimension)
            for entry in Int(indptr.values[row])..<Int(indptr.values[row + 1]) {
                vector[Int(indices.values[entry])] = Double(data.values[entry])
            }
            return vector
        }
    }
}

/// Writes one shard's vectors as they come, then commits its files together. Not generic:
/// it is called once per document from code that is generic over the corpus.
final class ShardWriter {
    let name: String
    let dimension: Int
    let dense: Bool
    let float64: Bool
    private let rows: NPYStreamWriter?
    private let indptr: NPYStreamWriter?
    private let indices: NPYStreamWriter?
    private let data: NPYStreamWriter?
    private let half: NPYStreamWriter?
    private(set) var documents = 0
    private(set) var nonzeros = 0
    private var singles: [Float] = []
    private var doubles: [Double] = []
    private var halves: [UInt16] = []

    init(folder: String, name: String, dimension: Int, dense: Bool, float64: Bool, screening: Bool) throws {
        self.name = name
        self.dimension = dimension
        self.dense = dense
        self.float64 = float64
        let descr = float64 ? "<f8" : "<f4"
        if dense {
            rows = try NPYStreamWriter(path: folder + "/" + ShardFiles.dense(name)[0], descr: descr)
            half = screening ? try NPYStreamWriter(path: folder + "/" + ShardFiles.screening(name), descr: "<f2") : nil
            (indptr, indices, data) = (nil, nil, nil)
        } else {
            half = nil
            let paths = ShardFiles.sparse(name).map { folder + "/" + $0 }
            rows = nil
            indptr = try NPYStreamWriter(path: paths[0], descr: "<i8")
            indices = try NPYStreamWriter(path: paths[1], descr: "<i4")
            data = try NPYStreamWriter(path: paths[2], descr: descr)
            try indptr?.append([Int64(0)])
        }
    }

    /// Appends a document: ascending term ids and their values, divided by `norm` (its
    /// length, to store a unit vector, as gensim's `unitvec` divides).
    func append(termIDs: [Int32], values: [Double], norm: Double) throws {
        let count = dense ? dimension : termIDs.count
        if float64 {
            doubles.removeAll(keepingCapacity: true)
            doubles.append(contentsOf: repeatElement(0, count: count))
            for i in termIDs.indices { doubles[dense ? Int(termIDs[i]) : i] = values[i] / norm }
            try (rows ?? data)?.append(doubles)
            if half != nil { singles = doubles.map { Float($0) } }
        } else {
            singles.removeAll(keepingCapacity: true)
            singles.append(contentsOf: repeatElement(0, count: count))
            for i in termIDs.indices { singles[dense ? Int(termIDs[i]) : i] = Float(values[i] / norm) }
            try (rows ?? data)?.append(singles)
        }
        if let half {
            halves = [UInt16](repeating: 0, count: singles.count)
            latent_half_from_float(singles, &halves, singles.count)
            try half.append(halves)
        }
        if !dense {
            try indices?.append(termIDs)
            nonzeros += termIDs.count
            try indptr?.append([Int64(nonzeros)])
        }
        documents += 1
    }

    /// Moves the files into place; the shard's entry in `index.json`, its documents numbered
    /// from `first`.
    func commit(first: Int) throws -> IndexManifest.Shard {
        if let rows { try rows.commit(shape: [documents, dimension]) }
        try half?.commit(shape: [documents, dimension])
        try indptr?.commit(shape: [documents + 1])
        try indices?.commit(shape: [nonzeros])
        try data?.commit(shape: [nonzeros])
        return IndexManifest.Shard(file: name, first: first, documents: documents, nonzeros: dense ? 0 : nonzeros)
    }
}
