import ArgumentParser
import Foundation
import Latent

struct CorpusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "corpus",
        abstract: "Turn raw text into a bag-of-words corpus (PREFIX.mm + PREFIX.mm.index) and a vocabulary (PREFIX.vocab).",
        discussion: """
            SOURCE is a file with one document per line, a folder of .txt files (one document each; \
            subfolders included, in natural order: 2.txt before 10.txt; PREFIX.files.tsv then says which \
            file each document came from), or a JSON-lines file (.jsonl) whose --field holds the text. \
            Text is UTF-8 (UTF-16 with a byte-order mark is read too). Tokens as gensim's simple_preprocess.

            A new vocabulary is built unless --vocab is given. Filtering (gensim's filter_extremes) runs \
            when any of --no-below, --no-above, --keep-n is given; the others then take gensim's defaults \
            (\(FilterSettings.gensim.noBelow), \(FilterSettings.gensim.noAbove), \(FilterSettings.gensim.keepN)).

            With --vocab, new documents are bagged with an existing vocabulary, as gensim's \
            dictionary.doc2bow(text): unknown tokens are dropped and counted, and PREFIX.vocab is the \
            same vocabulary. With --update-vocab as well, new tokens are added to it instead (gensim's \
            doc2bow(text, allow_update=True)), with the ids gensim would give them.

            Examples:
              latent corpus texts/ --out docs --no-below 5 --stopwords stop.txt
              latent corpus new/ --vocab docs.vocab --out new          # new documents, the same vocabulary
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Text file, folder of .txt files, or .jsonl file.") var source: String
    @Option(help: "Output prefix: writes PREFIX.mm, PREFIX.mm.index, PREFIX.vocab (and PREFIX.files.tsv for a folder).")
    var out: String
    @Option(help: "Bag with this existing vocabulary (gensim's save_as_text format) instead of building one.")
    var vocab: String?
    @Flag(help: "With --vocab: add the new tokens to the vocabulary instead of dropping them.") var updateVocab = false
    @Option(parsing: .unconditional, help: "Drop tokens in fewer documents than this.") var noBelow: Int?
    @Option(parsing: .unconditional, help: "Drop tokens in more than this fraction of documents.") var noAbove: Double?
    @Option(parsing: .unconditional, help: "Keep at most this many of the most frequent tokens.") var keepN: Int?
    @Option(help: "File of stopwords, one per line.") var stopwords: String?
    @Option(help: "JSON field holding the text (JSON-lines input).") var field: String = "text"
    @Flag(help: "Strip accents (gensim's deacc=True).") var deaccent = false
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if let noBelow, noBelow < 0 { throw ValidationError("--no-below must be at least 0, got \(noBelow)") }
        if let noAbove, !(noAbove >= 0 && noAbove <= 1) { throw ValidationError("--no-above must lie in 0...1, got \(noAbove)") }
        if let keepN, keepN < 1 { throw ValidationError("--keep-n must be at least 1, got \(keepN)") }
        if updateVocab && vocab == nil { throw ValidationError("--update-vocab needs --vocab (the vocabulary to update)") }
        if vocab != nil && (noBelow != nil || noAbove != nil || keepN != nil) {
            throw ValidationError("--no-below, --no-above and --keep-n renumber the vocabulary, so they cannot go with --vocab: models trained with it would no longer match")
        }
    }

    func run() async throws {
        let logger = try global.makeLogger(label: "latent.corpus")
        let text = TextSource.guess(path: source, field: field)
        let files = try text.documentFiles()
        let inputs = [source] + [vocab, stopwords].compactMap { $0 }
        try output.checkCorpus(out + ".mm", inputs: inputs)
        try output.checkFile(out + ".vocab", kind: .vocabulary, inputs: inputs)
        if files != nil { try output.checkFile(out + ".files.tsv", kind: .documentFiles, inputs: inputs) }

        let tokenizer = Tokenizer(stripAccents: deaccent,
                                  stopwords: try stopwords.map(Tokenizer.stopwords(contentsOf:)) ?? [])
        let diagnostics = TextDiagnostics(logger: logger)
        let vocabulary = try makeVocabulary(text, tokenizer: tokenizer, diagnostics: diagnostics, logger: logger)
        // The corpus, its index, its vocabulary and file list are moved into place together.
        let outputs = OutputGroup()
        try vocabulary.write(to: out + ".vocab", replacing: output.replacing, group: outputs)
        if let files { try DocumentFiles.write(files, to: out + ".files.tsv", replacing: output.replacing, group: outputs) }

        let corpus = TextCorpus(source: text, tokenizer: tokenizer, vocabulary: vocabulary, diagnostics: diagnostics)
        logger.info("storing corpus in Matrix Market format to \(out).mm")
        let progress = ProgressDisplay(logger: logger, activity: .writing)
        let stats = try MatrixMarketWriter.write(corpus, to: out + ".mm", termCount: vocabulary.idBound,
                                                 replacing: output.replacing, logger: logger,
                                                 progress: progress.writing(total: files?.count), group: outputs)
        progress.finish()
        try outputs.commit()
        report(stats, diagnostics.bagging, vocabulary: vocabulary, source: text, logger: logger)
    }

    /// The vocabulary: built from the source (and filtered), or read from --vocab (and
    /// updated with the source's new tokens when asked).
    private func makeVocabulary(_ text: TextSource, tokenizer: Tokenizer, diagnostics: TextDiagnostics,
                                logger: Logger) throws -> Vocabulary {
        if let vocab {
            var vocabulary = try Vocabulary(contentsOf: vocab)
            logger.info("loaded the vocabulary of \(vocab): \(vocabulary.count) tokens from \(vocabulary.documentCount) documents")
            guard updateVocab else { return vocabulary }
            let before = vocabulary.count
            try vocabulary.add(source: text, tokenizer: tokenizer, diagnostics: diagnostics)
            logger.info("added \(vocabulary.count - before) new tokens from \(source) to the vocabulary (now \(vocabulary.count) tokens from \(vocabulary.documentCount) documents)")
            return vocabulary
        }
        logger.info("collecting all words and their counts from \(source)")
        var vocabulary = try TextCorpus.buildVocabulary(source: text, tokenizer: tokenizer, diagnostics: diagnostics)
        logger.info("built vocabulary of \(vocabulary.count) unique tokens from \(vocabulary.documentCount) documents (total \(vocabulary.positionCount) corpus positions)")
        if noBelow != nil || noAbove != nil || keepN != nil {
            let before = vocabulary.count
            let defaults = FilterSettings.gensim
            vocabulary.filterExtremes(noBelow: noBelow ?? defaults.noBelow, noAbove: noAbove ?? defaults.noAbove,
                                      keepN: keepN ?? defaults.keepN, logger: logger)
            if vocabulary.count == 0 && before > 0 {
                logger.warning("every token was filtered away (\(before) tokens, none in at least \(noBelow ?? defaults.noBelow) and at most \(formatted(noAbove ?? defaults.noAbove)) of the \(vocabulary.documentCount) documents): the vocabulary is empty and so is every document")
            }
        }
        return vocabulary
    }

    /// Warnings for degenerate results, and what bagging with a given vocabulary dropped.
    private func report(_ stats: CorpusStatistics, _ bagging: TextDiagnostics.Bagging, vocabulary: Vocabulary,
                        source text: TextSource, logger: Logger) {
        if stats.documents == 0 {
            logger.warning("no documents found in \(source): looked for \(text.whatWasLookedFor); \(out).mm is empty")
            return
        }
        if bagging.tokens == 0 {
            logger.warning("\(source): no tokens in its \(stats.documents) documents (tokens are words of 2 to 15 letters); every document is empty")
            return
        }
        if vocab != nil && !updateVocab {
            let share = String(format: "%.1f", 100 * Double(bagging.unknownTokens) / Double(bagging.tokens))
            logger.info("bagged \(stats.documents) documents with the vocabulary of \(vocab ?? ""): \(bagging.tokens) tokens, \(bagging.unknownTokens) not in the vocabulary and dropped (\(share)%)")
        }
        if stats.nonZeros == 0 && vocabulary.count > 0 {
            logger.warning("none of the tokens of \(source) is in the vocabulary: every document of \(out).mm is empty")
        } else if stats.emptyDocuments > 0 {
            logger.info("\(stats.emptyDocuments) of \(stats.documents) documents have no token of the vocabulary and are empty")
        }
    }

    private func formatted(_ fraction: Double) -> String {
        String(format: "%g%%", fraction * 100)
    }
}

struct TFIDFCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tfidf",
        abstract: "Weight a bag-of-words corpus by TF-IDF (gensim's defaults: tf * log2(N/df), unit length).",
        discussion: """
            Trains the weights on the input corpus, or with --apply uses a saved TF-IDF model (gensim's \
            tfidf[bow] for new documents). A PREFIX.files.tsv beside the input goes along to the output.

            Examples:
              latent tfidf docs.mm --out docs.tfidf.mm --model docs.tfidf    # train, weight, save the model
              latent tfidf new.mm --apply docs.tfidf --out new.tfidf.mm      # weight new documents
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Input corpus (.mm, .mm.gz, .mm.bz2, .lbc).") var input: String
    @Option(help: "Output corpus (.mm, .mm.gz, .mm.bz2 or .lbc).") var out: String
    @Option(help: "Also save the TF-IDF model trained to this folder.") var model: String?
    @Option(help: "Weight with this saved TF-IDF model instead of training one.") var apply: String?
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if model != nil && apply != nil {
            throw ValidationError("--model saves the model trained and --apply uses a saved one: give one of them")
        }
    }

    func run() async throws {
        let logger = try global.makeLogger(label: "latent.tfidf")
        let inputs = [input] + [apply].compactMap { $0 }
        try output.checkCorpus(out, inputs: inputs)
        if let model { try output.checkModelFolder(model, kind: TFIDFModel.kind) }
        let files = try DocumentFilesCarrier(from: input, to: out, output: output, inputs: inputs)
        let corpus = try CorpusFile.open(input)
        try transform(corpus, files: files, logger: logger)
    }

    private func transform(_ corpus: some Corpus, files: DocumentFilesCarrier, logger: Logger) throws {
        let tfidf: TFIDFModel
        if let apply {
            tfidf = try TFIDFModel(contentsOf: apply)
            let warnings = try ModelInputCheck.check(corpusTerms: corpus.termCount, corpus: input,
                                                     modelTerms: tfidf.documentFrequencies.count,
                                                     modelVocabulary: nil, model: apply)
            for warning in warnings { logger.warning("\(warning)") }
            logger.info("weighting with the TF-IDF model \(apply) (\(tfidf.documentCount) training documents, \(tfidf.documentFrequencies.count) terms)")
        } else {
            let counting = ProgressDisplay(logger: logger, activity: .training(then: "weighting the documents"))
            tfidf = try TFIDFModel(corpus: corpus, logger: logger, progress: counting.writing(total: corpus.documentCount))
            counting.finish()
        }
        let emptied = DocumentCounter()
        let progress = ProgressDisplay(logger: logger, activity: .writing)
        let outputs = OutputGroup()
        let stats = try CorpusFile.write(tfidf.transformed(corpus, emptied: emptied), to: out, termCount: corpus.termCount,
                                         replacing: output.replacing, logger: logger,
                                         progress: progress.writing(total: corpus.documentCount), group: outputs)
        progress.finish()
        try files.carry(logger: logger, group: outputs)
        try outputs.commit()
        if let model, apply == nil { try tfidf.save(to: model, replacing: output.replacing) }
        if stats.documents == 0 {
            logger.warning("\(input) has no documents; \(out) is empty")
        } else if apply == nil && tfidf.documentCount == 1 {
            logger.warning("\(input) has one document: every term occurs in every document, so every TF-IDF weight is 0 and the document is empty")
        } else if emptied.value > 0 {
            let why = apply == nil ? "all their terms occur in every document"
                : "all their terms occur in every training document or were never seen in training"
            logger.warning("\(emptied.value) of \(stats.documents) documents have no TF-IDF weight left (\(why)); they are empty in \(out)")
        }
    }
}

/// Carries `PREFIX.files.tsv` (which file each document came from) from an input corpus to
/// an output corpus of the same documents, when the input has one.
struct DocumentFilesCarrier {
    let source: String?
    let destination: String
    let replacing: ReplacePolicy

    /// Checks the destination up front, when there is something to carry.
    init(from input: String, to output: String, output options: OutputOptions, inputs: [String]) throws {
        let companion = DocumentFiles.companion(of: input)
        destination = DocumentFiles.companion(of: output)
        replacing = options.replacing
        source = FileManager.default.fileExists(atPath: companion) && companion != destination ? companion : nil
        if source != nil { try options.checkFile(destination, kind: .documentFiles, inputs: inputs + [companion]) }
    }

    func carry(logger: Logger, group: OutputGroup) throws {
        guard let source else { return }
        try DocumentFiles.write(try DocumentFiles.read(source), to: destination, replacing: replacing, group: group)
        logger.info("document files: \(source) -> \(destination)")
    }
}

struct InfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Count a corpus: documents, terms, non-zeros, density, empty documents.",
        discussion: "Example: latent info wiki.mm"
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "A corpus file.") var file: String

    func run() async throws {
        _ = try global.makeLogger(label: "latent.info")
        let corpus = try CorpusFile.open(file)
        let stats = try corpus.statistics()
        print("""
            file: \(file)
            documents: \(stats.documents)
            terms: \(stats.terms)
            non-zeros: \(stats.nonZeros)
            density: \(String(format: "%.4g", stats.density * 100))%
            empty documents: \(stats.emptyDocuments)
            """)
    }
}

struct ConvertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a corpus between Matrix Market (.mm, .mm.gz, .mm.bz2) and Latent's binary format (.lbc), by extension.",
        discussion: "Example: latent convert wiki.tfidf.mm wiki.tfidf.lbc --float32"
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Input corpus.") var input: String
    @Argument(help: "Output corpus.") var output: String
    @Flag(help: "Store binary weights as Float32.") var float32 = false
    @OptionGroup var outputOptions: OutputOptions

    func run() async throws {
        let logger = try global.makeLogger(label: "latent.convert")
        try outputOptions.checkCorpus(output, inputs: [input])
        let files = try DocumentFilesCarrier(from: input, to: output, output: outputOptions, inputs: [input])
        let corpus = try CorpusFile.open(input)
        let progress = ProgressDisplay(logger: logger, activity: .writing)
        let outputs = OutputGroup()
        let stats = try CorpusFile.write(corpus, to: output, termCount: corpus.termCount, float32: float32,
                                         replacing: outputOptions.replacing, logger: logger,
                                         progress: progress.writing(total: corpus.documentCount), group: outputs)
        progress.finish()
        try files.carry(logger: logger, group: outputs)
        try outputs.commit()
        logger.info("converted \(input) to \(output): \(stats.documents) documents, \(stats.terms) terms, \(stats.nonZeros) non-zeros")
        if stats.documents == 0 { logger.warning("\(input) has no documents; \(output) is empty") }
    }
}
