import LatentCorpus
import LatentLinearAlgebra

extension LSIModel {
    /// The topic coordinates of one document: Uᵀx, or S⁻¹Uᵀx when `scaled` (gensim's
    /// `lsi[doc]` and `scaled=True`). One value per topic.
    public func project(_ document: SparseDocument, scaled: Bool = false) throws -> [Double] {
        var chunk = SparseChunk(reservingDocuments: 1)
        chunk.append(document)
        let block = try projectChunk(chunk, scaled: scaled)
        return (0..<block.rows).map { block[$0, 0] }
    }

    /// `corpus` streamed through the model: each document becomes its topic coordinates
    /// (gensim's `lsi[corpus]`), with values of magnitude 1e-9 or less left out as gensim
    /// does. Nothing is computed until the result is read.
    public func projected<C: Corpus>(_ corpus: C, scaled: Bool = false) -> LSIProjectedCorpus<C> {
        LSIProjectedCorpus(model: self, base: corpus, scaled: scaled)
    }

    /// Uᵀ A for a chunk A, topics x documents, in Float64.
    func projectChunk(_ chunk: SparseChunk, scaled: Bool) throws -> Matrix<Double> {
        switch storage {
        case .float64(let p): return try Self.project(chunk, onto: p, scaled: scaled)
        case .float32(let p): return try Self.project(chunk, onto: p, scaled: scaled).converted(to: Double.self)
        }
    }

    private static func project<Scalar: LinearAlgebraScalar>(
        _ chunk: SparseChunk, onto projection: LSIProjection<Scalar>, scaled: Bool
    ) throws -> Matrix<Scalar> {
        let local = try ChunkMatrix<Scalar>(chunk, termCount: projection.termCount)
        var block = Matrix.product(local.restrict(projection.basis), local.matrix)
        if scaled {
            let k = block.rows
            for j in 0..<block.columns {
                for i in 0..<k where projection.singularValues[i] > 0 { block.storage[i + j * k] /= projection.singularValues[i] }
            }
        }
        return block
    }
}

/// A corpus seen through an LSI model: document i is the topic coordinates of document i of
/// the base corpus. Reads the base in blocks and projects each block with one dense x sparse
/// product.
public struct LSIProjectedCorpus<Base: Corpus>: Corpus {
    public let model: LSIModel
    public let base: Base
    public let scaled: Bool

    /// Documents projected per block.
    static var blockSize: Int { 4096 }

    public var documentCount: Int? { base.documentCount }
    public var termCount: Int? { model.topicCount }
    public var nonZeroCount: Int? { nil }

    public func makeReader() throws -> BlockTransformReader<Base> {
        let (model, scaled) = (self.model, self.scaled)
        return BlockTransformReader(base: try base.makeReader(), blockSize: Self.blockSize,
                                    transform: { try model.projectChunk($0, scaled: scaled) },
                                    keep: { Swift.abs($0) > 1e-9 })
    }
}
