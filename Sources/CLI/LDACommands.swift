import ArgumentParser
import Foundation
import Latent

/// Settings of `latent lda` that map onto `LDAParameters` (gensim's names in the help; the
/// defaults are the library's, which are gensim's but eta's).
struct LDAOptions: ParsableArguments {
    static let defaults = LDAParameters()

    @Option(parsing: .unconditional, help: "Topics (gensim's num_topics; default \(defaults.topics)).") var topics: Int?
    @Option(parsing: .unconditional, help: "Documents per E-step batch (gensim's chunksize; default \(defaults.chunkSize)).")
    var chunkSize: Int?
    @Option(parsing: .unconditional, help: "Passes over the corpus (gensim's passes; default \(defaults.passes)).") var passes: Int?
    @Option(parsing: .unconditional, help: "An M-step every N batches, 0 for batch LDA (gensim's update_every; default \(defaults.updateEvery)).")
    var updateEvery: Int?
    @Option(parsing: .unconditional, help: "Document-topic prior: symmetric, asymmetric, auto, a number, comma-separated values (one per topic) or a .npy file (gensim's alpha; default symmetric).")
    var alpha: String?
    @Option(parsing: .unconditional, help: "Topic-word prior: symmetric, auto, a number, comma-separated values (one per term) or a .npy file of terms or topics x terms values (gensim's eta; default 0.5, which suits variational Bayes better than gensim's default, symmetric = 1/topics).")
    var eta: String?
    @Option(parsing: .unconditional, help: "κ, how fast old batches are forgotten (gensim's decay; default \(defaults.decay)).") var decay: Double?
    @Option(parsing: .unconditional, help: "τ₀, which slows early updates (gensim's offset; default \(defaults.offset)).") var offset: Double?
    @Option(parsing: .unconditional, help: "Most E-step iterations per document (gensim's iterations; default \(defaults.iterations)).")
    var iterations: Int?
    @Option(parsing: .unconditional, help: "E-step convergence threshold (gensim's gamma_threshold; default \(defaults.gammaThreshold), where gensim's is 0.001).")
    var gammaThreshold: Double?
    @Option(parsing: .unconditional, help: "Leave topics below this probability out of document distributions (gensim's minimum_probability; default \(defaults.minimumProbability)).")
    var minimumProbability: Double?
    @Option(parsing: .unconditional, help: "Log the per-word bound every N batches, 0 never (gensim's eval_every; default \(defaults.evalEvery)).")
    var evalEvery: Int?
    @Option(parsing: .unconditional, help: "Seed of the initial topics and every document's initial γ (gensim's random_state; default \(defaults.seed)).")
    var seed: UInt64?
    @Flag(help: "Compute and store in Float64 (default Float32, as gensim).") var float64 = false

    func parameters() throws -> LDAParameters {
        var parameters = Self.defaults
        if let topics { parameters.topics = topics }
        if let chunkSize { parameters.chunkSize = chunkSize }
        if let passes { parameters.passes = passes }
        if let updateEvery { parameters.updateEvery = updateEvery }
        if let alpha { parameters.alpha = try Self.prior(alpha, option: "--alpha") }
        if let eta { parameters.eta = try Self.prior(eta, option: "--eta") }
        if let decay { parameters.decay = decay }
        if let offset { parameters.offset = offset }
        if let iterations { parameters.iterations = iterations }
        if let gammaThreshold { parameters.gammaThreshold = gammaThreshold }
        if let minimumProbability { parameters.minimumProbability = minimumProbability }
        if let evalEvery { parameters.evalEvery = evalEvery }
        if let seed { parameters.seed = seed }
        if float64 { parameters.precision = .float64 }
        return parameters
    }

    /// The options given that define a model, which an update takes from the saved model.
    var modelSettingsGiven: [String] {
        [(topics != nil, "--topics"), (alpha != nil, "--alpha"), (eta != nil, "--eta"), (float64, "--float64"),
         (seed != nil, "--seed")].filter(\.0).map(\.1)
    }

    static func prior(_ text: String, option: String) throws -> DirichletPrior {
        switch text {
        case "symmetric": return .symmetric
        case "asymmetric": return .asymmetric
        case "auto": return .auto
        default: break
        }
        if text.hasSuffix(".npy") {
            let array = try NumPyArray(contentsOf: text)
            switch array.shape.count {
            case 1: return .vector(array.values)
            case 2: return .matrix(Matrix(rows: array.shape[0], columns: array.shape[1], rowMajor: array.values))
            default:
                throw ValidationError("\(option) \(text): expected an array of 1 or 2 dimensions, found shape \(array.shape)")
            }
        }
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        let values = parts.compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard values.count == parts.count, !values.isEmpty else {
            throw ValidationError("\(option): expected symmetric, asymmetric, auto, a number, comma-separated numbers or a .npy file, got '\(text)'")
        }
        return values.count == 1 ? .value(values[0]) : .vector(values)
    }
}

struct LDACommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lda",
        abstract: "Train an LDA model (online variational Bayes, as gensim's LdaModel), or update one, and save it as a model folder.",
        discussion: """
            The corpus holds word counts (a bag-of-words corpus, not TF-IDF: weights that are not whole \
            numbers are refused unless --allow-real-weights). The model folder holds model.json, \
            lambda.npy (topics x terms), alpha.npy, eta.npy and the vocabulary; numpy.load reads the \
            arrays. An existing folder at --out is replaced only when it is an LDA model folder.

            Runs are reproducible: a seed gives the same model whatever the threads or workers. \
            With --holdout N the last N documents are kept out of training and the model's per-word bound \
            on them is reported at the end (its document part too, which does not depend on N). During \
            training the per-word bound of each --eval-every'th batch is logged as gensim does, with the \
            perplexity as e^-bound (gensim prints 2^-bound of the same natural-log bound).

            With --update, the saved model is trained further on the corpus (gensim's lda.update(corpus)).

            Examples:
              latent lda docs.mm --vocab docs.vocab --topics 100 --out docs.lda
              latent lda docs.mm --vocab docs.vocab --topics 50 --passes 5 --alpha auto --holdout 1000 --out docs.lda
              latent lda new.mm --update docs.lda --out docs2.lda
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Training corpus of word counts (.mm, .mm.gz, .mm.bz2, .lbc).") var corpus: String
    @Option(help: "Vocabulary of the corpus (gensim's save_as_text format): names the terms.") var vocab: String?
    @Option(help: "Output model folder.") var out: String
    @Option(help: "Saved LDA model to train further with the corpus (gensim's update).") var update: String?
    @Option(parsing: .unconditional, help: "Keep the last N documents out of training and report the bound on them.")
    var holdout: Int = 0
    @Flag(help: "Train on weights that are not counts (TF-IDF), which LDA's model does not describe.") var allowRealWeights = false
    @OptionGroup var options: LDAOptions
    @OptionGroup var threads: ThreadsOption
    @OptionGroup var execution: ExecutionOptions
    @OptionGroup var checkpointing: CheckpointOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if holdout < 0 { throw ValidationError("--holdout must be at least 0, got \(holdout)") }
        if update != nil, let given = options.modelSettingsGiven.first {
            throw ValidationError("\(given): an update keeps the settings of the model it updates; remove \(given)")
        }
        _ = try options.parameters()
    }

    func run() async throws {
        let logger = try global.makeLogger(label: "latent.lda")
        try output.checkModelFolder(out, kind: LDAModel.kind)
        try OutputCheck.refuseInputs(out, inputs: [corpus] + [vocab].compactMap { $0 })
        let (executor, checkpoint) = try checkpointing.wrapping(try execution.executor(threads: threads.threads, logger: logger),
                                                                logger: logger)
        let model = try await train(try CorpusFile.open(corpus), executor: executor, logger: logger)
        try model.save(to: out, replacing: output.replacing)
        checkpoint?.remove()
        logger.info("saved LDA model with \(model.topicCount) topics to \(out); \(PeakMemory.description)")
    }

    private func train<C: Corpus>(_ input: C, executor: any ChunkExecutor, logger: Logger) async throws -> LDAModel {
        let vocabulary = try vocab.map(Vocabulary.init(contentsOf:))
        guard let total = input.documentCount else {
            throw ValidationError("\(corpus): the number of documents is unknown; LDA needs it (a .mm with its header, or a .lbc)")
        }
        if holdout >= total && total > 0 {
            throw ValidationError("--holdout \(holdout) leaves no documents of the \(total) in \(corpus) to train on")
        }
        let training = DocumentRangeCorpus(input, documents: 0..<(total - holdout))
        if total == 0 { logger.warning("\(corpus) has no documents: the model keeps its initial topics") }
        let progress = ProgressDisplay(logger: logger, activity: .training(then: "updating the topics"))
        defer { progress.finish() }
        var model: LDAModel
        if let update {
            model = try LDAModel(contentsOf: update)
            try checkModelInput(corpusTerms: input.termCount, corpus: corpus, vocabulary: vocab, modelTerms: model.termCount,
                                modelVocabulary: model.vocabulary, model: update, logger: logger)
            logger.info("updating the LDA model \(update) (\(model.topicCount) topics from \(model.documentsProcessed) documents) with \(corpus)")
            try await model.addDocuments(training, passes: options.passes, allowRealWeights: allowRealWeights,
                                         executor: executor, logger: logger, progress: progress.ldaHandler)
        } else {
            if let vocabulary, let vocab {
                try ModelInputCheck.checkTraining(corpusTerms: input.termCount, corpus: corpus,
                                                  vocabulary: vocabulary, file: vocab).forEach { logger.warning("\($0)") }
            }
            model = try await LDAModel(corpus: training, vocabulary: vocabulary, termCount: input.termCount,
                                       parameters: try options.parameters(), allowRealWeights: allowRealWeights,
                                       executor: executor, logger: logger, progress: progress.ldaHandler)
        }
        progress.finish()
        let alpha = model.alpha
        for (index, line) in model.formattedTopics(count: min(5, model.topicCount)).enumerated() {
            logger.info("topic #\(index) (\(String(format: "%.3f", alpha[index]))): \(line)")
        }
        if holdout > 0 {
            let held = DocumentRangeCorpus(input, documents: (total - holdout)..<total)
            let bound = try model.bound(held)
            logger.info("held-out bound on the last \(holdout) documents (\(Int(bound.words)) words): \(String(format: "%.4f", bound.perWordBound)) per word, \(String(format: "%.4f", bound.documentPerWordBound)) per word from the documents' part alone, perplexity \(String(format: "%.1f", bound.perplexity)) (e^-bound)")
        }
        return model
    }
}

struct InferCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "The topic distribution of every document of a corpus under an LDA model (gensim's lda[corpus]).",
        discussion: """
            The output is a corpus (.mm, .mm.gz, .mm.bz2, .lbc: one document per input document, one term \
            per topic, topics below the minimum probability left out as gensim's get_document_topics does) \
            or a table (.tsv, .jsonl: one line per document with every topic's probability). Each \
            document's initial γ is drawn by its number from the model's seed, so the output is reproducible.

            Examples:
              latent infer docs.lda new.mm --out new.topics.mm
              latent infer docs.lda new.mm --vocab new.vocab --out new.topics.tsv
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "LDA model folder.") var model: String
    @Argument(help: "Corpus of word counts (.mm, .mm.gz, .mm.bz2, .lbc).") var corpus: String
    @Option(help: "Output: a corpus (.mm, .mm.gz, .mm.bz2, .lbc) or a table (.tsv, .jsonl).") var out: String
    @Option(help: "Vocabulary the corpus was bagged with, checked against the model's.") var vocab: String?
    @Option(help: "Which file each document came from (PREFIX.files.tsv of latent corpus), for tables.") var files: String?
    @Option(parsing: .unconditional, help: "Leave out topics below this probability (default: the model's).")
    var minimumProbability: Double?
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if let minimumProbability, !(0...1).contains(minimumProbability) {
            throw ValidationError("--minimum-probability must be in [0, 1], got \(minimumProbability)")
        }
    }

    func run() async throws {
        let logger = try global.makeLogger(label: "latent.infer")
        let destination = DocumentVectorsOutput(path: out, corpus: corpus, files: files, output: output)
        try destination.check(inputs: [corpus] + [vocab, files].compactMap { $0 })
        let lda = try LDAModel(contentsOf: model)
        let input = try CorpusFile.open(corpus)
        try checkModelInput(corpusTerms: input.termCount, corpus: corpus, vocabulary: vocab, modelTerms: lda.termCount,
                            modelVocabulary: lda.vocabulary, model: model, logger: logger)
        let progress = ProgressDisplay(logger: logger, activity: .writing)
        defer { progress.finish() }
        let documents = try infer(input, lda, to: destination, progress: progress.writing(total: input.documentCount))
        progress.finish()
        logger.info("inferred the topics of \(documents) documents into \(out)")
        if documents == 0 { logger.warning("\(corpus) has no documents; \(out) is empty") }
    }

    private func infer<C: Corpus>(_ input: C, _ lda: LDAModel, to destination: DocumentVectorsOutput,
                                  progress: @escaping (Int) -> Void) throws -> Int {
        // Tables list every topic; corpora leave out the small ones, as gensim does.
        let topics = lda.documentTopics(input, minimumProbability: destination.isTable ? 0 : minimumProbability)
        return try destination.write(topics, columns: lda.topicCount, progress: progress)
    }
}

struct EvaluateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "The variational bound of a corpus under an LDA model: total, per word, per word from the documents' part, perplexity.",
        discussion: """
            The bound is gensim's LdaModel.bound, in nats; the per-word bound is gensim's log_perplexity \
            (the corpus standing for itself). The documents' part per word leaves out the topics' term, \
            which does not depend on the documents, and so compares models on held-out sets of any size. \
            Perplexity is e^-(per-word bound); gensim logs 2^-bound of the same natural-log bound.

            Example:
              latent evaluate docs.lda heldout.mm
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "LDA model folder.") var model: String
    @Argument(help: "Corpus of word counts (.mm, .mm.gz, .mm.bz2, .lbc).") var corpus: String
    @Option(parsing: .unconditional, help: "Most iterations of each document's E-step (default: the model's).")
    var iterations: Int?
    @Option(parsing: .unconditional, help: "E-step convergence threshold (default: the model's); give the same to every model compared.")
    var gammaThreshold: Double?
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        _ = try global.makeLogger(label: "latent.evaluate")
        var lda = try LDAModel(contentsOf: model)
        if let iterations {
            guard iterations >= 1 else { throw ValidationError("--iterations: expected at least 1, got \(iterations)") }
            lda.parameters.iterations = iterations
        }
        if let gammaThreshold {
            guard gammaThreshold.isFinite, gammaThreshold >= 0 else {
                throw ValidationError("--gamma-threshold: expected a finite value of at least 0, got \(gammaThreshold)")
            }
            lda.parameters.gammaThreshold = gammaThreshold
        }
        let input = try CorpusFile.open(corpus)
        if let terms = input.termCount, terms > lda.termCount {
            throw ValidationError("\(corpus) has \(terms) terms; the model \(model) has \(lda.termCount)")
        }
        let bound = try Self.bound(lda, input)
        if json {
            let document: [String: Any] = [
                "model": model, "corpus": corpus, "documents": bound.documents, "words": bound.words,
                "bound": bound.total, "per_word_bound": bound.perWordBound,
                "document_per_word_bound": bound.documentPerWordBound, "perplexity": bound.perplexity,
            ]
            let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("\(bound.documents) documents, \(Int(bound.words)) words")
            print("bound                         \(String(format: "%.4f", bound.total))")
            print("per-word bound                \(String(format: "%.6f", bound.perWordBound))")
            print("per-word bound, documents     \(String(format: "%.6f", bound.documentPerWordBound))")
            print("perplexity (e^-bound)         \(String(format: "%.3f", bound.perplexity))")
        }
    }

    private static func bound<C: Corpus>(_ lda: LDAModel, _ input: C) throws -> LDABound { try lda.bound(input) }
}

struct CoherenceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coherence",
        abstract: "Topic coherence of an LDA model (u_mass from a bag-of-words corpus, c_v from texts), as gensim's CoherenceModel.",
        discussion: """
            u_mass counts documents of the corpus holding the topics' words; c_v slides windows of \
            --window tokens (110, gensim's default) over the texts, tokenised as `latent corpus` does, with \
            the model's vocabulary naming the tokens. Prints each topic's coherence and their mean.

            Examples:
              latent coherence docs.lda --corpus docs.mm
              latent coherence docs.lda --texts texts/ --measure c_v --top 10
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "LDA model folder.") var model: String
    @Option(help: "Bag-of-words corpus, for u_mass.") var corpus: String?
    @Option(help: "Texts (a file of one document per line, a JSON-lines file or a folder of .txt files), for c_v.")
    var texts: String?
    @Option(help: "u_mass or c_v (default: u_mass with --corpus, c_v with --texts).") var measure: String?
    @Option(parsing: .unconditional, help: "Words per topic.") var top: Int = 20
    @Option(parsing: .unconditional, help: "Tokens per sliding window, for c_v.") var window: Int = 110
    @Option(help: "A file of stop words (one per line) removed from the texts, as given to latent corpus.") var stopwords: String?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        if (corpus == nil) == (texts == nil) { throw ValidationError("give one of --corpus (for u_mass) and --texts (for c_v)") }
        if top < 2 { throw ValidationError("--top must be at least 2, got \(top)") }
        if window < 1 { throw ValidationError("--window must be at least 1, got \(window)") }
        if let measure, CoherenceMeasure(rawValue: measure) == nil {
            throw ValidationError("--measure: expected one of \(CoherenceMeasure.allCases.map(\.rawValue).joined(separator: ", ")), got '\(measure)'")
        }
        let chosen = measure.flatMap(CoherenceMeasure.init(rawValue:)) ?? (corpus != nil ? .uMass : .cV)
        if chosen == .uMass && corpus == nil { throw ValidationError("u_mass needs --corpus") }
        if chosen == .cV && texts == nil { throw ValidationError("c_v needs --texts") }
    }

    func run() async throws {
        let logger = try global.makeLogger(label: "latent.coherence")
        let lda = try LDAModel(contentsOf: model)
        let topics = lda.topTermIDs(top: min(top, lda.termCount))
        let values: [Double]
        let chosen: CoherenceMeasure
        if let corpus {
            chosen = .uMass
            values = try TopicCoherence.uMass(topics: topics, corpus: try CorpusFile.open(corpus))
        } else if let texts {
            chosen = .cV
            guard let vocabulary = lda.vocabulary else {
                throw ValidationError("\(model) has no vocabulary to name the tokens of the texts; c_v needs one")
            }
            let tokenizer = Tokenizer(stopwords: try stopwords.map(Tokenizer.stopwords(contentsOf:)) ?? [])
            let source = TextSource.guess(path: texts)
            var documents = 0
            values = try TopicCoherence.cV(topics: topics, texts: { body in
                try source.forEachText { text in
                    documents += 1
                    try body(tokenizer.tokens(text))
                }
            }, vocabulary: vocabulary, window: window)
            if documents == 0 { logger.warning("\(texts): no texts found (\(source.whatWasLookedFor))") }
        } else {
            return
        }
        let finite = values.filter(\.isFinite)
        let mean = finite.isEmpty ? Double.nan : finite.reduce(0, +) / Double(finite.count)
        if finite.count < values.count {
            logger.warning("\(values.count - finite.count) topics have no coherence (their words never occur in the data); the mean leaves them out")
        }
        if json {
            let document: [String: Any] = ["model": model, "measure": chosen.rawValue, "top": topics.first?.count ?? 0,
                                           "topics": values.map { $0.isFinite ? $0 as Any : NSNull() },
                                           "mean": mean.isFinite ? mean as Any : NSNull()]
            let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            for (index, value) in values.enumerated() {
                print("topic #\(index): \(String(format: "%.4f", value))  \(lda.formattedTopic(index, top: 5))")
            }
            print("\(chosen.rawValue) coherence, mean of \(finite.count) topics: \(String(format: "%.4f", mean))")
        }
    }
}
