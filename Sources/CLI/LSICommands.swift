import ArgumentParser
import Foundation
import Latent

/// Settings of `latent lsi` that map onto `LSIParameters` (gensim's names in the help; the
/// defaults are the library's).
struct LSIOptions: ParsableArguments {
    static let defaults = LSIParameters()

    @Option(parsing: .unconditional, help: "Topics to keep (gensim's num_topics; default \(defaults.topics)).")
    var topics: Int?
    @Option(parsing: .unconditional, help: "Documents per job (gensim's chunksize, whose default is 20000). Default: one-pass training reads the whole corpus as one chunk when it fits half of the available memory (faster and more accurate), else \(defaults.chunkSize).")
    var chunkSize: Int?
    @Option(parsing: .unconditional, help: "Weight of the existing model per new chunk, in (0, 1] (gensim's decay; default \(defaults.decay)).")
    var decay: Double?
    @Option(parsing: .unconditional, help: "Power iterations per randomized SVD (gensim's power_iters; default \(defaults.powerIterations)).")
    var powerIters: Int?
    @Option(parsing: .unconditional, help: "Extra sampled dimensions (gensim's extra_samples, whose default is 100). Default: \(defaults.oversampling), or more so that topics + oversampling is at least \(Self.leastSketch).")
    var oversampling: Int?

    /// The narrowest sketch `latent lsi` draws by default: 310 columns, 110 beyond the
    /// default 200 topics. A model of fewer topics samples more than gensim's 100 extra
    /// dimensions; on flat spectra that is what accuracy needs (BENCHMARKS.md, issue 18: 100
    /// topics of 1,000,000 TF-IDF documents, subspace similarity 0.52 with 300 columns
    /// against 0.39 with 200, for 11% more time). The ten beyond gensim's 300 for 200
    /// topics make up for reading a corpus as one chunk: gensim reads 40,000 documents as two
    /// chunks, each with a sketch of its own, and on the flat spectrum of a 40,000 x 40,000
    /// TF-IDF corpus found 0.716-0.719 of the exact subspace where one chunk of 300 columns
    /// finds 0.709-0.716 (five seeds) and one of 310 finds 0.725-0.730 (six runs), for about
    /// 5% more work.
    static let leastSketch = 310
    @Flag(help: "Several passes over the corpus: slower, more accurate (gensim's onepass=False).") var multipass = false
    @Flag(help: "Compute and store in Float32.") var float32 = false
    @Option(parsing: .unconditional, help: "Seed of the random projections (gensim's random_seed; default \(defaults.seed)).")
    var seed: UInt64?

    var parameters: LSIParameters {
        var parameters = Self.defaults
        if let topics { parameters.topics = topics }
        if let chunkSize { parameters.chunkSize = chunkSize }
        if let decay { parameters.decay = decay }
        if let powerIters { parameters.powerIterations = powerIters }
        parameters.oversampling = oversampling ?? max(Self.defaults.oversampling, Self.leastSketch - parameters.topics)
        if multipass { parameters.algorithm = .multiPass }
        if float32 { parameters.precision = .float32 }
        if let seed { parameters.seed = seed }
        return parameters
    }

    /// Without --chunk-size, one-pass training in this process reads the whole corpus as one
    /// chunk when it fits half of the memory available (`LSIModel.addDocuments`).
    var oneChunkMemory: Int? { chunkSize == nil ? AvailableMemory.forOneChunk() : nil }

    /// The options given that define a model, which an update takes from the saved model.
    var modelSettingsGiven: [String] {
        [(topics != nil, "--topics"), (powerIters != nil, "--power-iters"), (oversampling != nil, "--oversampling"),
         (multipass, "--multipass"), (float32, "--float32"), (seed != nil, "--seed")].filter(\.0).map(\.1)
    }

    func validate() throws {
        do {
            try parameters.validate()
        } catch let error as ModelError {
            throw ValidationError(error.message)
        }
    }
}

struct LSICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lsi",
        abstract: "Train an LSI model (a truncated SVD of the corpus), or update one, and save it as a model folder.",
        discussion: """
            The model folder holds model.json, u.npy (terms x topics), s.npy and the vocabulary; \
            numpy.load reads the arrays. An existing folder at --out is replaced only when it is an LSI \
            model folder (--force: a model folder of another kind); a folder holding anything else is never \
            replaced.

            With --update, the saved model is trained further on the new corpus (gensim's \
            lsi.add_documents(corpus)) and saved to --out (which may be the same folder). The corpus must \
            be bagged with the model's vocabulary: give the corpus's vocabulary with --vocab to check it \
            word by word. The model's settings are kept; --decay and --chunk-size apply to the update.

            Examples:
              latent lsi docs.tfidf.mm --vocab docs.vocab --topics 400 --out docs.lsi
              latent lsi docs.tfidf.lbc --vocab docs.vocab --topics 400 --multipass --out docs.lsi
              latent lsi new.tfidf.mm --update docs.lsi --out docs2.lsi --decay 0.9
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Training corpus (.mm, .mm.gz, .mm.bz2, .lbc).") var corpus: String
    @Option(help: "Vocabulary of the corpus (gensim's save_as_text format): names the terms, or with --update is checked against the model's.")
    var vocab: String?
    @Option(help: "Output model folder.") var out: String
    @Option(help: "Saved LSI model to train further with the corpus (gensim's add_documents).") var update: String?
    @OptionGroup var options: LSIOptions
    @OptionGroup var threads: ThreadsOption
    @OptionGroup var execution: ExecutionOptions
    @OptionGroup var checkpointing: CheckpointOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if update != nil, let given = options.modelSettingsGiven.first {
            throw ValidationError("\(given): an update keeps the settings of the model it updates; remove \(given) (only --decay, --chunk-size, --threads and where to train apply)")
        }
    }

    func run() async throws {
        let logger = try global.makeLogger(label: "latent.lsi")
        try output.checkModelFolder(out, kind: LSIModel.kind)
        try OutputCheck.refuseInputs(out, inputs: [corpus] + [vocab].compactMap { $0 })
        let corpus = try CorpusFile.open(corpus)
        let vocabulary = try vocab.map(Vocabulary.init(contentsOf:))
        let (executor, checkpoint) = try checkpointing.wrapping(try execution.executor(threads: threads.threads, logger: logger),
                                                                logger: logger)
        let progress = ProgressDisplay(logger: logger, activity: .training(then: "merging the partial results"))
        defer { progress.finish() }
        let model: LSIModel
        if let update {
            model = try await updated(update, with: corpus, vocabulary: vocabulary, executor: executor, logger: logger,
                                      progress: progress)
        } else {
            model = try await trained(corpus, vocabulary: vocabulary, executor: executor, logger: logger, progress: progress)
        }
        progress.finish()
        for line in try model.formattedTopics(count: min(5, model.topicCount), top: 10).enumerated() {
            logger.info("topic #\(line.offset)(\(String(format: "%.3f", model.singularValues[line.offset]))): \(line.element)")
        }
        try model.save(to: out, replacing: output.replacing)
        checkpoint?.remove()
        logger.info("saved LSI model with \(model.topicCount) topics to \(out); \(PeakMemory.description)")
    }

    private func trained(_ corpus: some Corpus, vocabulary: Vocabulary?, executor: any ChunkExecutor, logger: Logger,
                         progress: ProgressDisplay) async throws -> LSIModel {
        if let vocabulary, let vocab {
            try ModelInputCheck.checkTraining(corpusTerms: corpus.termCount, corpus: self.corpus,
                                              vocabulary: vocabulary, file: vocab).forEach { logger.warning("\($0)") }
        }
        if corpus.documentCount == 0 { logger.warning("\(self.corpus) has no documents: the model will have no topics") }
        return try await LSIModel(corpus: corpus, vocabulary: vocabulary, parameters: options.parameters,
                                  executor: executor, oneChunkMemory: options.oneChunkMemory, logger: logger,
                                  progress: progress.handler)
    }

    private func updated(_ path: String, with corpus: some Corpus, vocabulary: Vocabulary?, executor: any ChunkExecutor,
                         logger: Logger, progress: ProgressDisplay) async throws -> LSIModel {
        var model = try LSIModel(contentsOf: path)
        try checkModelInput(corpusTerms: corpus.termCount, corpus: self.corpus, vocabulary: vocab, modelTerms: model.termCount,
                            modelVocabulary: model.vocabulary, model: path, logger: logger)
        if corpus.documentCount == 0 { logger.warning("\(self.corpus) has no documents: the model is saved unchanged") }
        logger.info("updating the LSI model \(path) (\(model.topicCount) topics from \(model.documentsProcessed) documents) with \(self.corpus)")
        try await model.addDocuments(corpus, decay: options.decay, chunkSize: options.chunkSize,
                                     executor: executor, oneChunkMemory: options.oneChunkMemory, logger: logger,
                                     progress: progress.handler)
        return model
    }
}

struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "Print the topics of an LSI or LDA model, gensim-style: topic #0(3.341): 0.644*\"system\" + ...",
        discussion: """
            LSI topics show their singular value and term weights; LDA topics their alpha and term \
            probabilities (λ's row normalised, as gensim's show_topic).

            With --json, one JSON document: {"model": ..., "topics": [{"topic": 0, "singular_value": 3.341, \
            "terms": [{"id": 3, "term": "system", "weight": 0.644}, ...]}, ...]}; for LDA "alpha" and \
            "probability" take the places of "singular_value" and "weight".

            Examples:
              latent topics docs.lsi --top 5 --first 10
              latent topics docs.lsi --json > topics.json
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Model folder.") var model: String
    @Option(parsing: .unconditional, help: "Terms per topic.") var top: Int = 10
    @Option(parsing: .unconditional, help: "Topics to print (default: all).") var first: Int?
    @Flag(help: "Print JSON instead of gensim's lines.") var json = false

    func validate() throws {
        if top < 1 { throw ValidationError("--top must be at least 1, got \(top)") }
        if let first, first < 0 { throw ValidationError("--first must be at least 0, got \(first)") }
    }

    func run() async throws {
        _ = try global.makeLogger(label: "latent.topics")
        if try ModelFolder.kind(at: model) == LDAModel.kind {
            try printLDATopics(try LDAModel(contentsOf: model))
            return
        }
        let lsi = try LSIModel(contentsOf: model)
        let count = min(first ?? lsi.topicCount, lsi.topicCount)
        if json {
            print(try topicsJSON(lsi, count: count, top: top))
        } else {
            print(try topicLines(lsi, count: count, top: top).joined(separator: "\n"))
        }
    }

    private func printLDATopics(_ lda: LDAModel) throws {
        let count = min(first ?? lda.topicCount, lda.topicCount)
        let alpha = lda.alpha
        if json {
            let topics: [[String: Any]] = (0..<count).map { index in
                ["topic": index, "alpha": alpha[index],
                 "terms": lda.topicTerms(index, top: top).map { term, probability in
                     ["id": term, "term": lda.vocabulary?[Int32(term)] ?? String(term), "probability": probability]
                 }]
            }
            let data = try JSONSerialization.data(withJSONObject: ["model": model, "topics": topics] as [String: Any],
                                                  options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            for (index, line) in lda.formattedTopics(count: count, top: top).enumerated() {
                print("topic #\(index) (\(String(format: "%.3f", alpha[index]))): \(line)")
            }
        }
    }

    private func topicsJSON(_ lsi: LSIModel, count: Int, top: Int) throws -> String {
        let topics: [[String: Any]] = try (0..<count).map { index in
            ["topic": index, "singular_value": lsi.singularValues[index],
             "terms": try lsi.topic(index, top: top).map { ["id": $0.termID, "term": $0.term, "weight": $0.weight] }]
        }
        let document: [String: Any] = ["model": model, "topics": topics]
        let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}

/// `topic #i(s_i): weights*"terms"` lines, as gensim's `print_topics` logs them.
func topicLines(_ model: LSIModel, count: Int, top: Int) throws -> [String] {
    try model.formattedTopics(count: count, top: top).enumerated().map { index, topic in
        "topic #\(index)(\(String(format: "%.3f", model.singularValues[index]))): \(topic)"
    }
}

struct ProjectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "project",
        abstract: "Project a corpus into the topic space of an LSI model (gensim's lsi[corpus]).",
        discussion: """
            The output is a corpus (.mm, .mm.gz, .mm.bz2, .lbc: one document per input document, one \
            term per topic, values of magnitude 1e-9 or less left out as gensim does) or a table \
            (.tsv, .jsonl: one line per document with its number, its source file when known, and every \
            topic weight). Source files come from --files, or from PREFIX.files.tsv beside the corpus.

            The corpus must be bagged with the model's vocabulary (and weighted as the model's training \
            corpus was): its term count is checked against the model, and with --vocab its vocabulary \
            word by word.

            Examples:
              latent project docs.lsi docs.tfidf.mm --out docs.lsi.mm
              latent project docs.lsi new.tfidf.mm --vocab new.vocab --out new.topics.tsv
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Model folder.") var model: String
    @Argument(help: "Corpus to project (.mm, .mm.gz, .mm.bz2, .lbc).") var corpus: String
    @Option(help: "Output: a corpus (.mm, .mm.gz, .mm.bz2, .lbc) or a table (.tsv, .jsonl).") var out: String
    @Option(help: "Vocabulary the corpus was bagged with, checked against the model's.") var vocab: String?
    @Option(help: "Which file each document came from (PREFIX.files.tsv of latent corpus), for tables.") var files: String?
    @Flag(help: "Divide by the singular values (gensim's scaled=True).") var scaled = false
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let logger = try global.makeLogger(label: "latent.project")
        let destination = DocumentVectorsOutput(path: out, corpus: corpus, files: files, output: output)
        try destination.check(inputs: [corpus] + [vocab, files].compactMap { $0 })
        let lsi = try LSIModel(contentsOf: model)
        let input = try CorpusFile.open(corpus)
        try checkModelInput(corpusTerms: input.termCount, corpus: corpus, vocabulary: vocab, modelTerms: lsi.termCount,
                            modelVocabulary: lsi.vocabulary, model: model, logger: logger)
        let progress = ProgressDisplay(logger: logger, activity: .writing)
        defer { progress.finish() }
        let documents = try project(input, lsi, to: destination, progress: progress.writing(total: input.documentCount))
        progress.finish()
        logger.info("projected \(documents) documents onto \(lsi.topicCount) topics into \(out)")
        if documents == 0 { logger.warning("\(corpus) has no documents; \(out) is empty") }
    }

    private func project<C: Corpus>(_ input: C, _ lsi: LSIModel, to destination: DocumentVectorsOutput,
                                    progress: @escaping (Int) -> Void) throws -> Int {
        try destination.write(lsi.projected(input, scaled: scaled), columns: lsi.topicCount, progress: progress)
    }
}

struct ExampleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "example",
        abstract: "The original's example: LSI of the 9-document Deerwester corpus, then of a million repeats of it; then LDA of the 9.",
        discussion: """
            Builds the 9 titles of Deerwester et al. (lowercased, stop words "for a of the and to in" and \
            words occurring once removed), trains 200 topics with chunks of 1 document and prints the first \
            two topics; then trains on the corpus repeated to --documents documents and prints the same \
            topics and the time taken; then trains a 2-topic LDA model on the 9 titles and prints its \
            topics. `make run` runs it.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(parsing: .unconditional, help: "Documents in the repeated corpus.") var documents: Int = 1_000_000
    @Option(parsing: .unconditional, help: "Documents per job for the repeated corpus.") var chunkSize: Int = 20_000
    @OptionGroup var threads: ThreadsOption
    @OptionGroup var execution: ExecutionOptions

    func validate() throws {
        if documents < 1 { throw ValidationError("--documents must be at least 1, got \(documents)") }
        if chunkSize < 1 { throw ValidationError("--chunk-size must be at least 1, got \(chunkSize)") }
    }

    func run() async throws {
        let logger = try global.makeLogger(label: "latent.example")
        let (vocabulary, corpus) = DeerwesterExample.corpus()
        let executor = try execution.executor(threads: threads.threads, logger: logger)
        let small = try await LSIModel(corpus: corpus, vocabulary: vocabulary, topics: 200, chunkSize: 1,
                                       executor: executor, logger: logger)
        print("9 documents, \(vocabulary.count) terms, 200 topics asked, chunks of 1 document: kept \(small.topicCount) topics")
        print(try topicLines(small, count: 2, top: 5).joined(separator: "\n"))

        let repeated = try RepeatCorpus(corpus, documents: documents)
        let started = Date()
        let big = try await LSIModel(corpus: repeated, vocabulary: vocabulary, topics: 200, chunkSize: chunkSize,
                                     executor: executor)
        let seconds = Date().timeIntervalSince(started)
        print("\(documents) documents (the 9 repeated), chunks of \(chunkSize): kept \(big.topicCount) topics")
        print(try topicLines(big, count: 2, top: 5).joined(separator: "\n"))
        print(String(format: "trained in %.3f s (", seconds) + ProgressDisplay.rate(Double(documents) / seconds)
              + ", \(executor.lastChoice ?? executor.description)); " + PeakMemory.description)

        // LDA of the same 9 documents: the graph titles and the human-computer ones part.
        let lda = try await LDAModel(corpus: corpus, vocabulary: vocabulary,
                                     parameters: LDAParameters(topics: 2, chunkSize: 9, passes: 200, evalEvery: 0, seed: 1),
                                     executor: executor)
        print("LDA of the 9 documents, 2 topics, 200 passes:")
        for (index, line) in lda.formattedTopics(top: 5).enumerated() {
            print("topic #\(index) (\(String(format: "%.3f", lda.alpha[index]))): \(line)")
        }
    }
}
