import ArgumentParser
import Foundation
import Latent

/// Settings of `latent lsi` that map onto `LSIParameters` (gensim's names in the help).
struct LSIOptions: ParsableArguments {
    @Option(help: "Topics to keep (gensim's num_topics).") var topics: Int = 200
    @Option(help: "Documents per job (gensim's chunksize; its default is 20000).") var chunkSize: Int = LSIParameters().chunkSize
    @Option(help: "Weight of the existing model per new chunk, in (0, 1] (gensim's decay).") var decay: Double = 1.0
    @Option(help: "Power iterations per randomized SVD (gensim's power_iters).") var powerIters: Int = 2
    @Option(help: "Extra sampled dimensions (gensim's extra_samples).") var oversampling: Int = 100
    @Flag(help: "Several passes over the corpus: slower, more accurate (gensim's onepass=False).") var multipass = false
    @Flag(help: "Compute and store in Float32.") var float32 = false
    @Option(help: "Seed of the random projections (gensim's random_seed).") var seed: UInt64 = 0
    @Option(help: "Cores to use (default: all).") var threads: Int?

    var parameters: LSIParameters {
        LSIParameters(topics: topics, chunkSize: chunkSize, decay: decay, powerIterations: powerIters,
                      oversampling: oversampling, algorithm: multipass ? .multiPass : .onePass,
                      precision: float32 ? .float32 : .float64, seed: seed)
    }

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
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
        abstract: "Train an LSI model (a truncated SVD of the corpus) and save it as a model folder.",
        discussion: """
            The model folder holds model.json, u.npy (terms x topics), s.npy and the vocabulary; \
            numpy.load reads the arrays.

            Examples:
              latent lsi wiki.tfidf.mm --vocab wiki.vocab --topics 400 --out wiki.lsi
              latent lsi wiki.tfidf.lbc --vocab wiki.vocab --topics 400 --multipass --out wiki.lsi
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Training corpus (.mm, .mm.gz, .mm.bz2, .lbc).") var corpus: String
    @Option(help: "Vocabulary (gensim's save_as_text format), to name the terms.") var vocab: String?
    @Option(help: "Output model folder.") var out: String
    @OptionGroup var options: LSIOptions
    @OptionGroup var execution: ExecutionOptions

    func run() async throws {
        let logger = try global.makeLogger(label: "latent.lsi")
        try await reportingErrors {
            let corpus = try CorpusFile.open(corpus)
            let vocabulary = try vocab.map(Vocabulary.init(contentsOf:))
            let progress = ProgressDisplay(logger: logger)
            let model = try await train(corpus, vocabulary: vocabulary, logger: logger, progress: progress)
            progress.finish()
            for line in try model.formattedTopics(count: min(5, model.topicCount), top: 10).enumerated() {
                logger.info("topic #\(line.offset)(\(String(format: "%.3f", model.singularValues[line.offset]))): \(line.element)")
            }
            try model.save(to: out)
            logger.info("saved LSI model with \(model.topicCount) topics to \(out); \(PeakMemory.description)")
        }
    }

    private func train(_ corpus: some Corpus, vocabulary: Vocabulary?, logger: Logger,
                       progress: ProgressDisplay) async throws -> LSIModel {
        try await LSIModel(corpus: corpus, vocabulary: vocabulary, parameters: options.parameters,
                           executor: try execution.executor(threads: options.threads, logger: logger), logger: logger,
                           progress: progress.handler)
    }
}

struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "Print the topics of an LSI model, gensim-style: topic #0(3.341): 0.644*\"system\" + ...",
        discussion: "Example: latent topics wiki.lsi --top 5 --first 10"
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Model folder.") var model: String
    @Option(help: "Terms per topic.") var top: Int = 10
    @Option(help: "Topics to print (default: all).") var first: Int?

    func validate() throws {
        if top < 1 { throw ValidationError("--top must be at least 1, got \(top)") }
        if let first, first < 0 { throw ValidationError("--first must be at least 0, got \(first)") }
    }

    func run() async throws {
        _ = try global.makeLogger(label: "latent.topics")
        try reportingErrors {
            let lsi = try LSIModel(contentsOf: model)
            print(try topicLines(lsi, count: first ?? lsi.topicCount, top: top).joined(separator: "\n"))
        }
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
        discussion: "Example: latent project wiki.lsi wiki.tfidf.mm --out wiki.lsi.mm"
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Model folder.") var model: String
    @Argument(help: "Corpus to project (.mm, .mm.gz, .mm.bz2, .lbc).") var corpus: String
    @Option(help: "Output corpus (.mm or .lbc): one document per input document, one term per topic.") var out: String
    @Flag(help: "Divide by the singular values (gensim's scaled=True).") var scaled = false

    func run() async throws {
        let logger = try global.makeLogger(label: "latent.project")
        try reportingErrors {
            let lsi = try LSIModel(contentsOf: model)
            let stats = try write(lsi, try CorpusFile.open(corpus))
            logger.info("projected \(stats.documents) documents onto \(lsi.topicCount) topics into \(out)")
        }
    }

    private func write(_ lsi: LSIModel, _ input: some Corpus) throws -> CorpusStatistics {
        try CorpusFile.write(lsi.projected(input, scaled: scaled), to: out, termCount: lsi.topicCount)
    }
}

struct ExampleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "example",
        abstract: "The original's example: LSI of the 9-document Deerwester corpus, then of a million repeats of it.",
        discussion: """
            Builds the 9 titles of Deerwester et al. (lowercased, stop words "for a of the and to in" and \
            words occurring once removed), trains 200 topics with chunks of 1 document and prints the first \
            two topics; then trains on the corpus repeated to --documents documents and prints the same \
            topics and the time taken. `make run` runs it.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "Documents in the repeated corpus.") var documents: Int = 1_000_000
    @Option(help: "Documents per job for the repeated corpus.") var chunkSize: Int = 20_000
    @Option(help: "Cores to use (default: all).") var threads: Int?
    @OptionGroup var execution: ExecutionOptions

    func validate() throws {
        if documents < 1 { throw ValidationError("--documents must be at least 1, got \(documents)") }
        if chunkSize < 1 { throw ValidationError("--chunk-size must be at least 1, got \(chunkSize)") }
    }

    func run() async throws {
        let logger = try global.makeLogger(label: "latent.example")
        try await reportingErrors {
            let (vocabulary, corpus) = DeerwesterExample.corpus()
            let executor = try execution.executor(threads: threads, logger: logger)
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
        }
    }
}
