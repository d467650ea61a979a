import Foundation
import LatentCorpus
import LatentModels

/// What the query server answers, apart from HTTP: a similarity index, the pipeline a text
/// goes through, and the topic model's views (computed once). Every answer is JSON text;
/// every refusal a `QueryError` with the HTTP status it gets and a message for people.
public final class QueryService: Sendable {
    public let index: SimilarityIndex
    let pipeline: QueryPipeline?
    /// Why texts cannot be queries, when `pipeline` is nil.
    let pipelineProblem: String?
    /// Why texts cannot be queries (nil when they can).
    public var textProblem: String? { pipelineProblem }
    let topics: TopicViews?
    /// Most results per query, and most queries per request.
    public let maxTop: Int
    public let maxBatch: Int
    let threads: Int

    public init(index: SimilarityIndex, sources: IndexSources = IndexSources(), maxTop: Int = 1000, maxBatch: Int = 1000,
                threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.index = index
        do {
            let pipeline = try QueryPipeline(index: index, sources: sources)
            self.pipeline = pipeline
            pipelineProblem = pipeline.vocabulary == nil ? "the index was built without a vocabulary, so texts cannot be queries" : nil
            topics = TopicViews(pipeline.model, vocabulary: pipeline.vocabulary)
        } catch {
            pipeline = nil
            pipelineProblem = "\(error)"
            topics = nil
        }
        self.maxTop = maxTop
        self.maxBatch = maxBatch
        self.threads = threads
    }

    /// GET /health.
    public func health() -> String {
        "{\"status\": \"ok\", \"documents\": \(index.documentCount), \"dimension\": \(index.dimension), "
            + "\"kind\": \"\(index.isDense ? "dense" : "sparse")\", \"model\": \(topics.map { "\"\($0.kind)\"" } ?? "null"), "
            + "\"titles\": \(index.titles != nil), \"texts\": \(pipelineProblem == nil)}"
    }

    /// The body of POST /similar.
    struct SimilarRequest: Decodable {
        var text: String?
        var document: Int?
        /// One query vector: dense (`dimension` values) ...
        var vector: [Double]?
        /// ... or sparse, as [[id, value], ...].
        var sparse: [[Double]]?
        /// A batch of dense vectors.
        var vectors: [[Double]]?
        var top: Int?
        /// "similarity" (default) or "magnitude" (gensim's order).
        var order: String?
    }

    /// POST /similar: `[{"document": 12, "score": 0.93, "title": "..."}, ...]` for one query
    /// (`text`, `document`, `vector` or `sparse`), an array of those for `vectors`.
    public func similar(body: [UInt8]) throws -> String {
        let request = try Self.decode(SimilarRequest.self, body)
        let top = request.top ?? 10
        guard (1...maxTop).contains(top) else { throw QueryError(.badRequest, "top: expected 1 to \(maxTop), got \(top)") }
        let order: SimilarityOrder
        switch request.order ?? "similarity" {
        case "similarity": order = .similarity
        case "magnitude": order = .magnitude
        case let other: throw QueryError(.badRequest, "order: expected \"similarity\" or \"magnitude\", got \"\(other)\"")
        }
        let given = [request.text != nil, request.document != nil, request.vector != nil, request.sparse != nil, request.vectors != nil]
        guard given.filter({ $0 }).count == 1 else {
            throw QueryError(.badRequest, "give exactly one of: text, document, vector, sparse, vectors")
        }
        do {
            if let text = request.text {
                let query = try textVector(text)
                return index.json(query.known == 0 ? [] : try index.similar(to: query.vector, top: top, order: order, threads: threads))
            }
            if let document = request.document {
                return index.json(try index.similar(toDocument: document, top: top, order: order, threads: threads))
            }
            if let vector = request.vector {
                return index.json(try index.similar(to: try dense(vector), top: top, order: order, threads: threads))
            }
            if let sparse = request.sparse {
                return index.json(try index.similar(to: try Self.sparse(sparse), top: top, order: order, threads: threads))
            }
            let vectors = request.vectors ?? []
            guard (1...maxBatch).contains(vectors.count) else {
                throw QueryError(.badRequest, "vectors: expected 1 to \(maxBatch) vectors, got \(vectors.count)")
            }
            let results = try index.similar(toBatch: try vectors.map(dense), top: top, order: order, threads: threads)
            return "[" + results.map(index.json).joined(separator: ", ") + "]"
        } catch let error as ModelError {
            throw QueryError(.badRequest, error.message)
        }
    }

    /// POST /project: a text's vector in the index's space, for a dense index its topic weights:
    /// `{"known_words": 3, "unknown_words": 1, "vector": [[topic, weight], ...]}`.
    public func project(body: [UInt8]) throws -> String {
        struct ProjectRequest: Decodable { var text: String }
        let request = try Self.decode(ProjectRequest.self, body)
        let query = try textVector(request.text)
        let pairs = zip(query.vector.termIDs, query.vector.weights).map { "[\($0), \($1)]" }.joined(separator: ", ")
        return "{\"known_words\": \(query.known), \"unknown_words\": \(query.unknown), \"vector\": [\(pairs)]}"
    }

    /// GET /documents/N: a document's title and stored (unit) vector, as [[id, value], ...]
    /// of its non-zero values.
    public func document(_ text: String) throws -> String {
        let (document, vector) = try storedVector(text)
        let pairs = vector.enumerated().filter { $0.element != 0 }.map { "[\($0.offset), \($0.element)]" }.joined(separator: ", ")
        let title = index.title(of: document).map(DocumentVectorsWriter.jsonString) ?? "null"
        return "{\"document\": \(document), \"title\": \(title), \"vector\": [\(pairs)]}"
    }

    /// GET /documents/N/view: the same as HTML for the page: its title and number, and on a
    /// dense index its 12 largest topic weights as bars (`TopicViews.termBars`, signed for LSI).
    public func documentHTML(_ text: String) throws -> String {
        let (document, vector) = try storedVector(text)
        var html = "<h2>" + TopicViews.escape(index.title(of: document) ?? "Document \(document)")
            + "</h2><p class=\"muted\">document #\(document)</p>"
        let weights = vector.enumerated().filter { $0.element != 0 }
        guard index.isDense else { return html + "<p class=\"muted\">\(weights.count) terms in its vector.</p>" }
        guard !weights.isEmpty else {
            return html + "<p class=\"muted\">No topic weights: the document has no words the model knows.</p>"
        }
        let shown = weights.sorted { abs($0.element) > abs($1.element) || (abs($0.element) == abs($1.element) && $0.offset < $1.offset) }
            .prefix(12).map { (term: "topic \($0.offset)", weight: $0.element) }
        html += "<h3 style=\"font-size:0.95em\">Topic weights</h3>"
        return html + TopicViews.termBars(Array(shown), signed: topics?.kind == "lsi")
    }

    /// Document `text`'s number and stored vector; 400 for a number that is not one, 404 for
    /// a document not in the index.
    private func storedVector(_ text: String) throws -> (Int, [Double]) {
        guard let document = Int(text) else { throw QueryError(.badRequest, "document: expected a number, got \"\(text.prefix(40))\"") }
        do {
            return (document, try index.vector(of: document))
        } catch let error as ModelError {
            throw QueryError(.notFound, error.message)
        }
    }

    /// GET /topics: the model's topics as JSON; 404 for an index without a topic model.
    public func topicsJSON() throws -> String {
        guard let topics else { throw QueryError(.notFound, "the index has no topic model (it holds \(index.isDense ? "dense" : "sparse") vectors without one)") }
        return topics.json
    }

    /// The topics as HTML with inline SVG, for the web page and reports.
    public func topicsHTML() throws -> String {
        guard let topics else { throw QueryError(.notFound, "the index has no topic model") }
        return topics.html
    }

    private func textVector(_ text: String) throws -> (vector: SparseDocument, known: Int, unknown: Int) {
        guard let pipeline, pipelineProblem == nil else {
            throw QueryError(.badRequest, pipelineProblem ?? "texts cannot be queries here")
        }
        guard text.utf8.count <= 1 << 20 else { throw QueryError(.badRequest, "text: at most 1 MiB") }
        do {
            return try pipeline.vector(text: text)
        } catch let error as ModelError {
            throw QueryError(.badRequest, error.message)
        }
    }

    private func dense(_ values: [Double]) throws -> SparseDocument {
        guard values.count == index.dimension else {
            throw QueryError(.badRequest, "vector: expected \(index.dimension) values, got \(values.count)")
        }
        return SparseDocument(uncheckedTermIDs: values.indices.map { Int32($0) }, weights: values)
    }

    private static func sparse(_ pairs: [[Double]]) throws -> SparseDocument {
        var ids: [Int32] = [], values: [Double] = []
        for pair in pairs {
            guard pair.count == 2, let id = Int32(exactly: pair[0]), id >= 0 else {
                throw QueryError(.badRequest, "sparse: expected [[id, value], ...] with whole non-negative ids")
            }
            ids.append(id)
            values.append(pair[1])
        }
        return SparseDocument(uncheckedTermIDs: ids, weights: values)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ body: [UInt8]) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(body))
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let field = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            throw QueryError(.badRequest, "field '\(field)': \(context.debugDescription)")
        } catch let DecodingError.keyNotFound(key, _) {
            throw QueryError(.badRequest, "field '\(key.stringValue)' is missing")
        } catch {
            throw QueryError(.badRequest, "the body is not valid JSON")
        }
    }
}

/// A refused request: its HTTP status and what to tell the client.
public struct QueryError: Error, CustomStringConvertible {
    public enum Status: Int, Sendable {
        case badRequest = 400
        case unauthorized = 401
        case notFound = 404
        case methodNotAllowed = 405
        case contentTooLarge = 413
        case unavailable = 503
        case internalError = 500
    }

    public let status: Status
    public let message: String

    public init(_ status: Status, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { message }

    var json: String { "{\"error\": \(DocumentVectorsWriter.jsonString(message)), \"status\": \(status.rawValue)}" }
}
