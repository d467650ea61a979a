import ArgumentParser
import Foundation
import LatentCorpus
import LatentModels
import Logging

struct IndexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Build a similarity index of a corpus (gensim's MatrixSimilarity, SparseMatrixSimilarity and Similarity).",
        discussion: """
            CORPUS is taken as it is on disk: weighted by --tfidf when given (CORPUS is then a bag-of-words \
            corpus), projected by --model (an LSI or LDA model folder) when given, which makes a dense index \
            of topic vectors; otherwise its vectors are indexed as they are (a sparse index, e.g. of TF-IDF \
            vectors). Vectors are stored normalised to unit length, Float32 unless --float64, in shards of \
            --shard-size documents (.npy files that NumPy reads) inside the index folder, with index.json. \
            Documents are numbered from 0 in corpus order, as gensim's positions.

            The index remembers the vocabulary, TF-IDF model and topic model it went through (paths and \
            fingerprints), so `latent similar INDEX "some text"` needs nothing else. A .npy file of vectors \
            (documents x dimensions, float32 or float64; embeddings, say) makes a dense index as it is. --titles names documents \
            in results: a TSV with a header `document ... title` (latent wiki's PREFIX_titles.tsv), or one \
            title per line.

            Examples:
              latent index docs.mm --vocab docs.vocab --tfidf docs.tfidf --model docs.lsi --out docs.index
              latent index wiki_tfidf.mm --vocab wiki_wordids.txt.bz2 --titles wiki_titles.tsv --out wiki.index
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Corpus to index (.mm, .mm.gz, .mm.bz2, .lbc), or vectors (.npy, documents x dimensions).") var corpus: String
    @Option(help: "Index folder to write.") var out: String
    @Option(help: "LSI or LDA model folder: index the documents' topic vectors.") var model: String?
    @Option(help: "TF-IDF model folder: weight the corpus (a bag-of-words corpus) first.") var tfidf: String?
    @Option(help: "Vocabulary of the corpus, so that texts can be queries.") var vocab: String?
    @Option(help: "Titles of the documents (TSV).") var titles: String?
    @Option(help: "Documents per shard.") var shardSize: Int = 32768
    @Flag(help: "Store Float64 vectors instead of Float32.") var float64 = false

    func validate() throws {
        if shardSize < 1 { throw ValidationError("--shard-size must be at least 1, got \(shardSize)") }
    }

    func run() async throws {
        let logger = try global.makeLogger(label: "latent.index")
        let sources = IndexSources(vocabulary: vocab, tfidf: tfidf, model: model)
        let started = ContinuousClock.now
        let index: SimilarityIndex, report: IndexBuildReport
        if corpus.hasSuffix(".npy") {
            guard model == nil, tfidf == nil else {
                throw ValidationError("\(corpus) holds vectors, indexed as they are: --model and --tfidf do not apply")
            }
            let vectors = try DenseVectorsCorpus(path: corpus)
            let progress = ProgressDisplay(logger: logger, activity: .writing)
            defer { progress.finish() }
            (index, report) = try SimilarityIndex.build(vectors, at: out, dense: true, dimension: max(1, vectors.columns),
                                                        settings: IndexSettings(float64: float64, shardSize: shardSize), sources: sources,
                                                        titles: titles, logger: logger, progress: progress.writing(total: vectors.rows))
        } else {
            (index, report) = try build(try CorpusFile.open(corpus), sources: sources, logger: logger)
        }
        logger.info("indexed \(report.documents) documents in \(report.shards) shards (\(index.isDense ? "dense" : "sparse"), \(index.dimension) dimensions, \(index.precision)) into \(out) in \(String(format: "%.1f", (ContinuousClock.now - started) / .seconds(1))) s")
    }

    private func build<C: Corpus>(_ input: C, sources: IndexSources, logger: Logger) throws -> (SimilarityIndex, IndexBuildReport) {
        let settings = IndexSettings(float64: float64, shardSize: shardSize)
        let progress = ProgressDisplay(logger: logger, activity: .writing)
        defer { progress.finish() }
        let report = progress.writing(total: input.documentCount)
        let vocabulary = try vocab.map { try Vocabulary(contentsOf: $0) }
        if let tfidf {
            let weights = try TFIDFModel(contentsOf: tfidf)
            return try project(weights.transformed(input), terms: input.termCount ?? vocabulary?.idBound, settings: settings,
                               sources: sources, logger: logger, progress: report)
        }
        return try project(input, terms: input.termCount ?? vocabulary?.idBound, settings: settings, sources: sources,
                           logger: logger, progress: report)
    }

    private func project<C: Corpus>(_ input: C, terms: Int?, settings: IndexSettings, sources: IndexSources, logger: Logger,
                                    progress: @escaping (Int) -> Void) throws -> (SimilarityIndex, IndexBuildReport) {
        if let model {
            switch try ModelFolder.kind(at: model) {
            case "lsi":
                let lsi = try LSIModel(contentsOf: model)
                try checkModelInput(corpusTerms: terms, corpus: corpus, vocabulary: vocab, modelTerms: lsi.termCount,
                                    modelVocabulary: lsi.vocabulary, model: model, logger: logger)
                return try SimilarityIndex.build(lsi.projected(input), at: out, dense: true, dimension: lsi.topicCount,
                                                 settings: settings, sources: sources, titles: titles, logger: logger, progress: progress)
            case "lda":
                let lda = try LDAModel(contentsOf: model)
                try checkModelInput(corpusTerms: terms, corpus: corpus, vocabulary: vocab, modelTerms: lda.termCount,
                                    modelVocabulary: lda.vocabulary, model: model, logger: logger)
                return try SimilarityIndex.build(lda.documentTopics(input), at: out, dense: true, dimension: lda.topicCount,
                                                 settings: settings, sources: sources, titles: titles, logger: logger, progress: progress)
            case let kind:
                throw ValidationError("--model \(model) is a \(kind) model; an index needs an LSI or LDA model (or none, for a sparse index)")
            }
        }
        guard let terms, terms > 0 else {
            throw ValidationError("\(corpus) does not say how many terms it has; give --vocab")
        }
        return try SimilarityIndex.build(input, at: out, dense: false, dimension: terms, settings: settings, sources: sources,
                                         titles: titles, logger: logger, progress: progress)
    }
}

struct SimilarCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "similar",
        abstract: "The documents of an index most similar to a text, a document, each document of a corpus, or each other.",
        discussion: """
            A text goes through the index's vocabulary, TF-IDF model and topic model (as recorded when the \
            index was built; --vocab, --tfidf and --model say where they are now, and must be the same files). \
            --document N queries with document N of the index. --queries CORPUS (in the form the indexed \
            corpus had) and --all (every document against the index) write one result per line to --out \
            (.tsv or .jsonl).

            Results are ranked by similarity, highest first (equal ones by document number); \
            --gensim-order ranks by magnitude as gensim's num_best does, leaving out similarities within \
            1e-9 of 0. --json prints [{"document": 12, "score": 0.93, "title": "..."}, ...], document \
            numbers counted from 0.

            Examples:
              latent similar docs.index "graph minors trees" --top 5
              latent similar docs.index --document 3 --json
              latent similar docs.index --queries new.mm --out new.similar.tsv
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Index folder.") var index: String
    @Argument(help: "Text to search for.") var text: String?
    @Option(help: "Query with document N of the index.") var document: Int?
    @Option(help: "Query with every document of a corpus; results to --out.") var queries: String?
    @Flag(help: "Query with every document of the index (all pairs); results to --out.") var all = false
    @Option(help: "Output of --queries or --all (.tsv, .jsonl).") var out: String?
    @Option(help: "Results per query.") var top: Int = 10
    @Option(help: "With --queries: queries searched together (one matrix product per block of the index).") var batch: Int = 1000
    @Flag(help: "Rank by magnitude of similarity, as gensim's num_best.") var gensimOrder = false
    @Flag(help: "Print results as JSON.") var json = false
    @Option(help: "Where the index's vocabulary is now.") var vocab: String?
    @Option(help: "Where the index's TF-IDF model is now.") var tfidf: String?
    @Option(help: "Where the index's topic model is now.") var model: String?
    @OptionGroup var output: OutputOptions

    func validate() throws {
        let modes = [text != nil, document != nil, queries != nil, all].filter { $0 }.count
        guard modes == 1 else { throw ValidationError("give one of: a text, --document N, --queries CORPUS, --all") }
        if top < 1 { throw ValidationError("--top must be at least 1, got \(top)") }
        if batch < 1 { throw ValidationError("--batch must be at least 1, got \(batch)") }
        if (queries != nil || all) && out == nil { throw ValidationError("--queries and --all write their results to --out") }
        if let out, !(out.hasSuffix(".tsv") || out.hasSuffix(".jsonl")) {
            throw ValidationError("--out \(out): expected a .tsv or .jsonl file")
        }
    }

    func run() async throws {
        let logger = try global.makeLogger(label: "latent.similar")
        let similarity = try SimilarityIndex(contentsOf: index)
        let order: SimilarityOrder = gensimOrder ? .magnitude : .similarity
        let sources = IndexSources(vocabulary: vocab, tfidf: tfidf, model: model)
        if let text {
            let pipeline = try QueryPipeline(index: similarity, sources: sources)
            let (vector, known, unknown) = try pipeline.vector(text: text)
            if known == 0 {
                logger.warning("none of the query's \(unknown) words is in the index's vocabulary; nothing is similar to it")
            } else if unknown > 0 {
                logger.info("\(unknown) of the query's words are not in the vocabulary and were left out")
            }
            print(results: known == 0 ? [] : try similarity.similar(to: vector, top: top, order: order), similarity)
        } else if let document {
            print(results: try similarity.similar(toDocument: document, top: top, order: order), similarity)
        } else if let out {
            let kind: OutputKind = out.hasSuffix(".jsonl") ? .documentJSONLines : .documentTable
            try output.checkFile(out, kind: kind, inputs: [index] + [queries].compactMap { $0 })
            let file = try AtomicFileWriter(path: out, kind: kind, replacing: output.replacing)
            if kind == .documentTable { try file.write("query\trank\tdocument\tscore\ttitle\n") }
            var count = 0
            let write = { (query: Int, results: [SimilarityResult]) throws in
                try file.write(self.format(query: query, results: results, similarity, jsonLines: kind == .documentJSONLines))
                count += 1
            }
            if let queries {
                let vectors: any Corpus
                let pipeline: QueryPipeline?
                if queries.hasSuffix(".npy") {
                    // Vectors in the index's space, used as they are.
                    vectors = try DenseVectorsCorpus(path: queries)
                    pipeline = nil
                } else {
                    vectors = try CorpusFile.open(queries)
                    pipeline = try QueryPipeline(index: similarity, sources: sources)
                }
                var batchQueries: [SparseDocument] = [], first = 0
                var searching = Duration.zero
                func flush() throws {
                    let started = ContinuousClock.now
                    let found = try similarity.similar(toBatch: batchQueries, top: top, order: order)
                    searching += ContinuousClock.now - started
                    for (offset, results) in found.enumerated() { try write(first + offset, results) }
                    first += batchQueries.count
                    batchQueries.removeAll(keepingCapacity: true)
                }
                try vectors.forEachDocument { document in
                    batchQueries.append(try pipeline?.vector(bagOfWords: document) ?? document)
                    if batchQueries.count == batch { try flush() }
                }
                if !batchQueries.isEmpty { try flush() }
                let seconds = searching / .seconds(1)
                logger.info("searched \(first) queries, \(batch) at a time, in \(String(format: "%.3f", seconds)) s (\(String(format: "%.3f", first > 0 ? seconds * 1000 / Double(first) : 0)) ms per query)")
            } else {
                try similarity.allPairs(top: top, order: order, write)
            }
            try file.commit()
            logger.info("wrote the top \(top) of \(count) queries to \(out)")
            if count == 0 { logger.warning("there were no queries; \(out) has no results") }
        }
    }

    private func print(results: [SimilarityResult], _ similarity: SimilarityIndex) {
        if json {
            Swift.print(similarity.json(results))
            return
        }
        for (rank, result) in results.enumerated() {
            let title = similarity.title(of: result.document).map { "\t\($0)" } ?? ""
            Swift.print("\(rank + 1)\t\(result.document)\t\(String(format: "%.6f", result.score))\(title)")
        }
    }

    private func format(query: Int, results: [SimilarityResult], _ similarity: SimilarityIndex, jsonLines: Bool) -> String {
        if jsonLines { return "{\"query\": \(query), \"results\": \(similarity.json(results))}\n" }
        return results.enumerated().map { rank, result in
            let title = similarity.title(of: result.document) ?? ""
            return "\(query)\t\(rank + 1)\t\(result.document)\t\(result.score)\t\(title)\n"
        }.joined()
    }
}

struct IndexAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index-add",
        abstract: "Add the documents of a corpus to a saved similarity index (numbered after the last).",
        discussion: """
            CORPUS is in the form the index's corpus had when it was built: it goes through the same TF-IDF \
            and topic models. The new documents go into new shards; index.json is replaced last, so an \
            interrupted add leaves the index as it was.

            Example:
              latent index-add docs.index new.mm --titles new_titles.tsv
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Index folder.") var index: String
    @Argument(help: "Corpus to add (.mm, .mm.gz, .mm.bz2, .lbc), or vectors (.npy) for an index of vectors.") var corpus: String
    @Option(help: "Titles of the new documents (TSV, numbered from 0 for the corpus's first document).") var titles: String?
    @Option(help: "Where the index's TF-IDF model is now.") var tfidf: String?
    @Option(help: "Where the index's topic model is now.") var model: String?

    func run() async throws {
        let logger = try global.makeLogger(label: "latent.index-add")
        let similarity = try SimilarityIndex(contentsOf: index)
        let pipeline = try QueryPipeline(index: similarity, sources: IndexSources(tfidf: tfidf, model: model))
        let input: any Corpus = corpus.hasSuffix(".npy") ? try DenseVectorsCorpus(path: corpus) : try CorpusFile.open(corpus)
        let (grown, report) = try add(input, to: similarity, through: pipeline, logger: logger)
        logger.info("\(index): \(grown.documentCount) documents can be found (\(report.documents) added)")
    }
}

extension IndexAddCommand {
    private func add<C: Corpus>(_ input: C, to similarity: SimilarityIndex, through pipeline: QueryPipeline,
                                logger: Logger) throws -> (SimilarityIndex, IndexBuildReport) {
        try similarity.adding(PipelineCorpus(base: input, pipeline: pipeline), titles: titles, logger: logger)
    }
}

/// A corpus seen through a query pipeline, document by document.
private struct PipelineCorpus<Base: Corpus>: Corpus {
    let base: Base
    let pipeline: QueryPipeline

    var documentCount: Int? { base.documentCount }
    var termCount: Int? { nil }
    var nonZeroCount: Int? { nil }

    func makeReader() throws -> Reader { Reader(base: try base.makeReader(), pipeline: pipeline) }

    struct Reader: DocumentReader {
        var base: Base.Reader
        let pipeline: QueryPipeline

        mutating func appendNext(to chunk: inout SparseChunk) throws -> Bool {
            guard let document = try base.next() else { return false }
            chunk.append(try pipeline.vector(bagOfWords: document))
            return true
        }
    }
}

struct IndexRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index-remove",
        abstract: "Remove documents from a saved similarity index by number (gensim cannot).",
        discussion: """
            IDS are document numbers, separated by commas or spaces, or ranges such as 10-19; a removed \
            document is never returned again and its number is not given again.

            Example:
              latent index-remove docs.index 3,7,100-199
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Index folder.") var index: String
    @Argument(help: "Document numbers to remove (e.g. 3,7,100-199).") var ids: [String]

    func run() async throws {
        let logger = try global.makeLogger(label: "latent.index-remove")
        var documents: [Int] = []
        for part in ids.flatMap({ $0.split(separator: ",") }) {
            let bounds = part.split(separator: "-", maxSplits: 1)
            guard let low = Int(bounds[0]), low >= 0, let high = bounds.count == 2 ? Int(bounds[1]) : low, high >= low else {
                throw ValidationError("'\(part)' is not a document number or a range such as 10-19")
            }
            guard high - low < 100_000_000 else { throw ValidationError("'\(part)': a range of at most 100,000,000 documents") }
            documents += Array(low...high)
        }
        let similarity = try SimilarityIndex(contentsOf: index)
        let reduced = try similarity.removing(documents, logger: logger)
        logger.info("\(index): \(reduced.documentCount) documents can be found")
    }
}
