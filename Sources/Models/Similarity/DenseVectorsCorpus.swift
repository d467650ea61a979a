import LatentCorpus

/// A 2-D NumPy array (`.npy`, `<f4` or `<f8`, C order) of vectors, one document per row,
/// read as a corpus: vectors made elsewhere (embeddings, another tool's topic vectors) can be
/// indexed and used as queries. The file is memory-mapped; each row becomes a document of
/// its non-zero values.
public struct DenseVectorsCorpus: Corpus {
    public let path: String
    public let rows: Int
    public let columns: Int
    private let file: MappedFile
    private let dataStart: Int
    private let float32: Bool

    /// - Throws: `CorpusError` for a file that is not a 2-D array of floats.
    public init(path: String) throws {
        file = try MappedFile(path: path)
        let header = try NumPyHeader(parsing: file.bytes, source: path)
        guard header.descr == "<f4" || header.descr == "<f8" else {
            throw CorpusError(code: .format, file: path, message: "holds '\(header.descr)' values; vectors must be '<f4' or '<f8'")
        }
        guard header.shape.count == 2 else {
            throw CorpusError(code: .format, file: path, message: "shape \(header.shape); vectors must be a 2-D array (documents x dimensions)")
        }
        float32 = header.descr == "<f4"
        _ = try header.checkedCount(elementSize: float32 ? 4 : 8, fileSize: file.bytes.count, source: path)
        self.path = path
        rows = header.shape[0]
        columns = header.shape[1]
        dataStart = header.dataStart
    }

    public var documentCount: Int? { rows }
    public var termCount: Int? { columns }
    public var nonZeroCount: Int? { nil }

    public func makeReader() throws -> Reader { Reader(corpus: self) }

    public struct Reader: DocumentReader {
        let corpus: DenseVectorsCorpus
        var next = 0

        public mutating func appendNext(to chunk: inout SparseChunk) throws -> Bool {
            guard next < corpus.rows else { return false }
            let row = next
            next += 1
            var ids: [Int32] = [], values: [Double] = []
            ids.reserveCapacity(corpus.columns)
            values.reserveCapacity(corpus.columns)
            let bytes = corpus.file.bytes
            let width = corpus.float32 ? 4 : 8
            let start = corpus.dataStart + row * corpus.columns * width
            for j in 0..<corpus.columns {
                let offset = start + j * width
                let value = corpus.float32
                    ? Double(Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))))
                    : Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
                guard value.isFinite else {
                    throw CorpusError(code: .outOfRange, file: corpus.path, line: row + 1, message: "row \(row), column \(j): \(value) is not a finite number")
                }
                if value != 0 {
                    ids.append(Int32(j))
                    values.append(value)
                }
            }
            chunk.append(SparseDocument(uncheckedTermIDs: ids, weights: values))
            return true
        }
    }
}
