import Foundation
import LatentCorpus
import LatentLinearAlgebra
import Logging

/// A folder of document vectors to find the documents most like a query by cosine
/// similarity (gensim's `MatrixSimilarity`, `SparseMatrixSimilarity` and sharded
/// `Similarity` in one).
///
/// Vectors are stored L2-normalised, Float32 by default, in shards of `.npy` files that are
/// memory-mapped when searched (see `IndexStore`), beside `index.json` (`IndexManifest`).
/// Documents are numbered from 0 in the order they were added, as gensim's positions; they
/// can be added to a saved index and removed by number (a removed document is never
/// returned; its number is not given again).
///
/// A dense index holds documents in a topic space (LSI or LDA), a sparse one holds sparse
/// vectors such as TF-IDF. Results are ranked by similarity, highest first, with equal
/// similarities by document number; gensim's `num_best` ranks by magnitude instead
/// (`SimilarityOrder.magnitude`).
public final class SimilarityIndex: Sendable {
    public let path: String
    let manifest: IndexManifest
    private let store: Store
    /// Document titles, when the index has them.
    public let titles: [String]?

    enum Store: Sendable {
        case float32(IndexStore<Float>)
        case float64(IndexStore<Double>)
    }

    /// Opens the index folder at `path`, checking `index.json` and the removed list; shards
    /// are mapped and checked when first searched.
    /// - Throws: `CorpusError` naming the file and field for anything missing or inconsistent.
    public init(contentsOf path: String) throws {
        self.path = path
        let manifest = try IndexManifest.read(folder: path)
        self.manifest = manifest
        var removed: [Int] = []
        if let list = manifest.removed {
            let file = path + "/" + list.file
            let array = try NumPyArray(contentsOf: file)
            guard array.element == .int64, array.shape == [list.count] else {
                throw CorpusError(code: .inconsistent, file: file, message: "expected \(list.count) document numbers ('<i8'), found \(array.shape) of '\(array.element.rawValue)'")
            }
            removed = array.values.map { Int($0) }
            if let bad = removed.first(where: { $0 < 0 || $0 >= manifest.documents }) {
                throw CorpusError(code: .format, file: file, message: "document \(bad) is not in the index (0 to \(manifest.documents - 1))")
            }
        }
        switch manifest.precision {
        case "float64": store = .float64(IndexStore(folder: path, manifest: manifest, removed: removed))
        default: store = .float32(IndexStore(folder: path, manifest: manifest, removed: removed))
        }
        titles = try manifest.titles.map { try DocumentTitles.read(path + "/" + $0, documents: manifest.documents) }
        removedCount = removed.count
    }

    private let removedCount: Int

    /// Whether vectors are dense (topic space) rather than sparse (terms).
    public var isDense: Bool { manifest.isDense }
    /// Values per vector.
    public var dimension: Int { manifest.dimension }
    /// Document numbers given so far (removed ones included): the next added is this.
    public var documentNumbers: Int { manifest.documents }
    /// Documents that can be found (not removed).
    public var documentCount: Int { manifest.documents - removedCount }
    public var shardCount: Int { manifest.shards.count }
    public var precision: String { manifest.precision }

    public func isRemoved(_ document: Int) -> Bool {
        switch store {
        case .float32(let s): s.isRemoved(document)
        case .float64(let s): s.isRemoved(document)
        }
    }

    public func title(of document: Int) -> String? {
        guard let titles, document >= 0, document < titles.count, !titles[document].isEmpty else { return nil }
        return titles[document]
    }

    /// Results as JSON, as `latent similar --json` prints them and the query server answers:
    /// `[{"document": 12, "score": 0.93, "title": "..."}, ...]` (a title when there is one).
    public func json(_ results: [SimilarityResult]) -> String {
        let items = results.map { result -> String in
            var item = "{\"document\": \(result.document), \"score\": \(jsonNumber(result.score))"
            if let title = title(of: result.document) { item += ", \"title\": " + DocumentVectorsWriter.jsonString(title) }
            return item + "}"
        }
        return "[" + items.joined(separator: ", ") + "]"
    }

    /// A score in JSON: at the precision the index stores (Float32 scores printed as Float,
    /// so 0.93 rather than 0.9300000071525574).
    func jsonNumber(_ value: Double) -> String { manifest.precision == "float32" ? "\(Float(value))" : "\(value)" }

    // MARK: Queries

    /// The `top` documents most similar to `query` (a vector in the index's space: term ids
    /// or topic numbers and their values; it is normalised here, as gensim does).
    /// - Throws: `ModelError` for a query of the wrong dimension or holding NaN or infinity.
    public func similar(to query: SparseDocument, top: Int = 10, order: SimilarityOrder = .similarity,
                        threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws -> [SimilarityResult] {
        try similar(toBatch: [query], top: top, order: order, threads: threads)[0]
    }

    /// The `top` documents most similar to each query, as one search of the index.
    public func similar(toBatch queries: [SparseDocument], top: Int = 10, order: SimilarityOrder = .similarity,
                        threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws -> [[SimilarityResult]] {
        let dimension = manifest.dimension
        var dense = [Double](repeating: 0, count: dimension * queries.count)
        for (q, query) in queries.enumerated() {
            for (id, value) in zip(query.termIDs, query.weights) {
                guard id >= 0, Int(id) < dimension else {
                    throw ModelError(code: .invalidInput, message:
                        "query \(q): \(isDense ? "topic" : "term id") \(id) is outside the index's \(dimension) dimensions (0 to \(dimension - 1))")
                }
                guard value.isFinite else {
                    throw ModelError(code: .invalidInput, message: "query \(q): the value of \(isDense ? "topic" : "term id") \(id) is \(value); a query needs finite values")
                }
                dense[q * dimension + Int(id)] = value
            }
        }
        return try search(dense, count: queries.count, top: top, order: order, threads: threads)
    }

    /// The `top` documents most similar to document `document` of the index (itself
    /// included, at similarity 1, as gensim's `index[index.vector_by_id(i)]`).
    public func similar(toDocument document: Int, top: Int = 10, order: SimilarityOrder = .similarity,
                        threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws -> [SimilarityResult] {
        try search(try vector(of: document), count: 1, top: top, order: order, threads: threads)[0]
    }

    /// Document `document`'s stored (unit) vector, dense.
    public func vector(of document: Int) throws -> [Double] {
        guard document >= 0, document < manifest.documents else {
            throw ModelError(code: .invalidInput, message: "document \(document) is not in the index (documents 0 to \(max(0, manifest.documents - 1)))")
        }
        guard !isRemoved(document) else {
            throw ModelError(code: .invalidInput, message: "document \(document) was removed from the index")
        }
        switch store {
        case .float32(let s): return try s.vector(of: document)
        case .float64(let s): return try s.vector(of: document)
        }
    }

    /// Every document of the index against the index (gensim's `index[corpus]` with the
    /// index's own corpus), `blockSize` documents at a time; `body` receives each document's
    /// number and its top results, in document order. Removed documents are skipped.
    public func allPairs(top: Int = 10, order: SimilarityOrder = .similarity, blockSize: Int = 1024,
                         threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                         _ body: (Int, [SimilarityResult]) throws -> Void) throws {
        var next = 0
        while next < manifest.documents {
            let ids = (next..<min(manifest.documents, next + max(1, blockSize))).filter { !isRemoved($0) }
            next += max(1, blockSize)
            guard !ids.isEmpty else { continue }
            var queries: [Double] = []
            queries.reserveCapacity(ids.count * manifest.dimension)
            for id in ids { queries += try vector(of: id) }
            let results = try search(queries, count: ids.count, top: top, order: order, threads: threads)
            for (id, result) in zip(ids, results) { try body(id, result) }
        }
    }

    /// Searches with dense queries (column after column), normalising each.
    private func search(_ queries: [Double], count: Int, top: Int, order: SimilarityOrder, threads: Int) throws -> [[SimilarityResult]] {
        let dimension = manifest.dimension
        var normalised = queries
        for q in 0..<count {
            var sum = 0.0
            for i in 0..<dimension { sum += normalised[q * dimension + i] * normalised[q * dimension + i] }
            let norm = sum.squareRoot()
            guard norm.isFinite else { throw ModelError(code: .invalidInput, message: "query \(q): its length is not finite") }
            if norm > 0 { for i in 0..<dimension { normalised[q * dimension + i] /= norm } }
        }
        switch store {
        case .float32(let s):
            return try s.search(normalised.map { Float($0) }, count: count, top: top, order: order, threads: threads)
        case .float64(let s):
            return try s.search(normalised, count: count, top: top, order: order, threads: threads)
        }
    }
}

/// Titles of an index's documents: `titles.tsv` in the folder, a header line `document\ttitle`
/// then one line per document.
enum DocumentTitles {
    /// Reads the titles of a TSV given by the user, by document number: with a header whose
    /// first column is `document` and which has a `title` column (as `latent wiki`'s
    /// PREFIX_titles.tsv), lines are keyed by their first column; otherwise line i is the
    /// title of document i.
    static func parseUserFile(_ path: String) throws -> [Int: String] {
        let text = String(decoding: try readWholeFile(path: path), as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
        if lines.last?.isEmpty == true { lines.removeLast() }
        var titles: [Int: String] = [:]
        let header = lines.first.map { $0.split(separator: "\t", omittingEmptySubsequences: false) } ?? []
        if header.first == "document", let column = header.firstIndex(of: "title") {
            for (number, line) in lines.enumerated().dropFirst() {
                let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
                guard fields.count > column, let document = Int(fields[0]), document >= 0 else {
                    throw CorpusError(code: .format, file: path, line: number + 1, message:
                        "expected a document number and \(header.count) tab-separated fields as the header says")
                }
                titles[document] = String(fields[column])
            }
        } else {
            for (number, line) in lines.enumerated() { titles[number] = String(line) }
        }
        return titles
    }

    static func write(_ titles: [Int: String], documents: Range<Int>, to file: AtomicFileWriter, header: Bool) throws {
        if header { try file.write("document\ttitle\n") }
        for document in documents {
            let title = titles[document].map { String($0.map { $0 == "\t" || $0 == "\n" || $0 == "\r" ? " " : $0 }) } ?? ""
            try file.write("\(document)\t\(title)\n")
        }
    }

    /// Reads the folder's `titles.tsv`: one title per document number (empty when unknown).
    static func read(_ path: String, documents: Int) throws -> [String] {
        var titles = [String](repeating: "", count: documents)
        for (document, title) in try parseUserFile(path) {
            guard document < documents else {
                throw CorpusError(code: .inconsistent, file: path, message: "a title for document \(document); the index has \(documents) documents")
            }
            titles[document] = title
        }
        return titles
    }
}
