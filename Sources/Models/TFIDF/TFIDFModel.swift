import Foundation
import LatentCorpus
import Logging
import Synchronization

/// TF-IDF with gensim's defaults (`TfidfModel(corpus)`): the weight of a term is its count
/// times log2(N / df), each document is then scaled to unit Euclidean length, and weights of
/// magnitude 1e-12 or less are dropped, which removes terms found in every document and
/// terms the training corpus never saw.
public struct TFIDFModel: Sendable, Equatable {
    /// Documents in the training corpus.
    public let documentCount: Int
    /// Stored entries in the training corpus.
    public let nonZeroCount: Int
    /// Documents each term id occurs in (0 for ids never seen).
    public let documentFrequencies: [Int]
    /// log2(N / df) per term id; 0 for ids never seen.
    public let inverseDocumentFrequencies: [Double]

    static let epsilon = 1e-12

    /// Counts document frequencies in one pass over `corpus`.
    /// - Parameter progress: called with the number of documents counted so far.
    public init<C: Corpus>(corpus: C, logger: Logger? = nil, progress: ((Int) -> Void)? = nil) throws {
        var frequencies = [Int](repeating: 0, count: corpus.termCount ?? 0)
        var documents = 0
        var nonZeros = 0
        try corpus.forEachChunk(size: 10_000) { chunk in
            for term in chunk.termIDs {
                let id = Int(term)
                if id >= frequencies.count { frequencies.append(contentsOf: repeatElement(0, count: id + 1 - frequencies.count)) }
                frequencies[id] += 1
            }
            documents += chunk.documentCount
            nonZeros += chunk.nonZeroCount
            if let progress {
                progress(documents)
            } else if documents % 100_000 < chunk.documentCount {
                logger?.info("PROGRESS: processing document #\(documents)")
            }
        }
        self.init(documentCount: documents, nonZeroCount: nonZeros, documentFrequencies: frequencies)
        logger?.info("calculated IDF weights for \(documents) documents and \(frequencies.count) features (\(nonZeros) matrix non-zeros)")
    }

    public init(documentCount: Int, nonZeroCount: Int, documentFrequencies: [Int]) {
        self.documentCount = documentCount
        self.nonZeroCount = nonZeroCount
        self.documentFrequencies = documentFrequencies
        let total = Double(documentCount)
        inverseDocumentFrequencies = documentFrequencies.map { df in
            df > 0 ? Foundation.log(total / Double(df)) / Foundation.log(2.0) : 0
        }
    }

    /// The TF-IDF vector of a bag-of-words document.
    public func transform(_ document: SparseDocument) -> SparseDocument {
        var ids = document.termIDs
        var weights = document.weights
        apply(&ids, &weights)
        return SparseDocument(uncheckedTermIDs: ids, weights: weights)
    }

    /// Rewrites one document's ids and weights in place.
    func apply(_ ids: inout [Int32], _ weights: inout [Double]) {
        var kept = 0
        for index in ids.indices {
            let id = Int(ids[index])
            let idf = id < inverseDocumentFrequencies.count ? inverseDocumentFrequencies[id] : 0
            guard abs(idf) > Self.epsilon else { continue }
            ids[kept] = ids[index]
            weights[kept] = weights[index] * idf
            kept += 1
        }
        ids.removeSubrange(kept...)
        weights.removeSubrange(kept...)
        var sum = 0.0
        for w in weights { sum += w * w }
        let length = sum.squareRoot()
        if length > 0 && length != 1 {
            for index in weights.indices { weights[index] /= length }
        }
        kept = 0
        for index in ids.indices where abs(weights[index]) > Self.epsilon {
            ids[kept] = ids[index]
            weights[kept] = weights[index]
            kept += 1
        }
        ids.removeSubrange(kept...)
        weights.removeSubrange(kept...)
    }

    /// `corpus` with every document transformed, lazily, as it is read.
    /// - Parameter emptied: counts the documents that had entries and have none left (all
    ///   their terms occur in every training document, or were never seen in training).
    public func transformed<C: Corpus>(_ corpus: C, emptied: DocumentCounter? = nil) -> TFIDFCorpus<C> {
        TFIDFCorpus(base: corpus, model: self, emptied: emptied)
    }

    /// Terms found in every training document: their weight is 0 (log2(N/N)), so they
    /// drop out of every document; with one training document, that is every term.
    public var termsInEveryDocument: Int {
        documentFrequencies.count { $0 > 0 && $0 == documentCount }
    }

    // MARK: files

    /// The `kind` of its model folders.
    public static let kind = "tfidf"

    /// Saves the model as a folder (see `ModelFolder` for what may be replaced).
    public func save(to path: String, replacing: ReplacePolicy = .sameKind) throws {
        try ModelFolder.write(
            to: path,
            metadata: ["kind": Self.kind, "num_docs": documentCount, "num_nnz": nonZeroCount,
                       "num_terms": documentFrequencies.count, "wlocal": "identity", "wglobal": "log2(N/df)",
                       "normalize": "l2"],
            arrays: [
                "dfs": NumPyArray(shape: [documentFrequencies.count], element: .int64, values: documentFrequencies.map(Double.init)),
                "idfs": NumPyArray(shape: [inverseDocumentFrequencies.count], values: inverseDocumentFrequencies),
            ], replacing: replacing)
    }

    public init(contentsOf path: String) throws {
        let metadata = try ModelFolder.readMetadata(at: path, expectedKind: Self.kind)
        let documents = try ModelFolder.integer(metadata, "num_docs", in: path)
        let nonZeros = try ModelFolder.integer(metadata, "num_nnz", in: path)
        let terms = try ModelFolder.integer(metadata, "num_terms", in: path)
        let dfs = try ModelFolder.array("dfs", in: path, shape: [terms])
        guard dfs.values.allSatisfy({ $0 >= 0 && $0 <= Double(documents) }) else {
            throw CorpusError(code: .outOfRange, file: path + "/dfs.npy", message: "document frequencies must lie in 0...\(documents)")
        }
        self.init(documentCount: documents, nonZeroCount: nonZeros, documentFrequencies: dfs.values.map { Int($0) })
    }
}

/// A corpus whose documents are TF-IDF vectors of a base corpus's, computed as they are read.
public struct TFIDFCorpus<Base: Corpus>: Corpus {
    public let base: Base
    public let model: TFIDFModel
    /// Counts documents left empty by the weighting, when given.
    public let emptied: DocumentCounter?

    public var documentCount: Int? { base.documentCount }
    public var termCount: Int? { base.termCount }
    public var nonZeroCount: Int? { nil }

    public func makeReader() throws -> Reader { Reader(base: try base.makeReader(), model: model, emptied: emptied) }

    public struct Reader: DocumentReader {
        var base: Base.Reader
        let model: TFIDFModel
        let emptied: DocumentCounter?

        public mutating func appendNext(to chunk: inout SparseChunk) throws -> Bool {
            guard try base.appendNext(to: &chunk) else { return false }
            let model = model, emptied = emptied
            chunk.rewriteLastDocument { ids, weights in
                let hadEntries = !ids.isEmpty
                model.apply(&ids, &weights)
                if hadEntries && ids.isEmpty { emptied?.increment() }
            }
            return true
        }
    }
}

/// A count shared by the passes of a lazily transformed corpus (which may run on another
/// thread), e.g. of documents a transformation left empty.
public final class DocumentCounter: Sendable {
    private let count = Mutex(0)

    public init() {}

    public var value: Int { count.withLock { $0 } }

    func increment() {
        count.withLock { $0 += 1 }
    }
}
