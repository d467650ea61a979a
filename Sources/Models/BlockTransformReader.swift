import LatentCorpus
import LatentLinearAlgebra

/// Reads a base corpus in blocks of documents, turns each block into one column of values per
/// document (`transform`), and hands the columns out as documents, leaving out the values
/// `keep` rejects: the reader of a corpus seen through a model (`lsi[corpus]`, `lda[corpus]`).
public struct BlockTransformReader<Base: Corpus>: DocumentReader {
    var base: Base.Reader
    let blockSize: Int
    let transform: (SparseChunk) throws -> Matrix<Double>
    let keep: (Double) -> Bool
    var block = Matrix<Double>(rows: 0, columns: 0)
    var position = 0
    var nextDocument = 0

    init(base: Base.Reader, blockSize: Int, transform: @escaping (SparseChunk) throws -> Matrix<Double>,
         keep: @escaping (Double) -> Bool) {
        self.base = base
        self.blockSize = blockSize
        self.transform = transform
        self.keep = keep
    }

    public mutating func appendNext(to chunk: inout SparseChunk) throws -> Bool {
        if position == block.columns {
            var input = SparseChunk(reservingDocuments: blockSize)
            guard try base.fill(&input, firstDocument: nextDocument, size: blockSize) else { return false }
            nextDocument += input.documentCount
            block = try transform(input)
            position = 0
        }
        let k = block.rows
        for index in 0..<k {
            let value = block.storage[index + position * k]
            if keep(value) { chunk.appendEntry(term: Int32(index), weight: value) }
        }
        chunk.finishDocument()
        position += 1
        return true
    }
}
