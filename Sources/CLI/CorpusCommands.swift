import ArgumentParser
import Latent

struct CorpusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "corpus",
        abstract: "Turn raw text into a bag-of-words corpus (PREFIX.mm + PREFIX.mm.index) and a vocabulary (PREFIX.vocab).",
        discussion: """
            SOURCE is a file with one document per line, a folder of .txt files (one document each), \
            or a JSON-lines file (.jsonl) whose --field holds the text. Tokens as gensim's simple_preprocess.
            Filtering (gensim's filter_extremes) runs when any of --no-below, --no-above, --keep-n is given; \
            the others then take gensim's defaults (5, 0.5, 100000).

            Example: latent corpus texts/ --out wiki --no-below 5 --stopwords stop.txt
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Text file, folder of .txt files, or .jsonl file.") var source: String
    @Option(help: "Output prefix.") var out: String
    @Option(help: "Drop tokens in fewer documents than this.") var noBelow: Int?
    @Option(help: "Drop tokens in more than this fraction of documents.") var noAbove: Double?
    @Option(help: "Keep at most this many of the most frequent tokens.") var keepN: Int?
    @Option(help: "File of stopwords, one per line.") var stopwords: String?
    @Option(help: "JSON field holding the text (JSON-lines input).") var field: String = "text"
    @Flag(help: "Strip accents (gensim's deacc=True).") var deaccent = false

    func validate() throws {
        if let noBelow, noBelow < 0 { throw ValidationError("--no-below must be at least 0, got \(noBelow)") }
        if let noAbove, !(noAbove >= 0 && noAbove <= 1) { throw ValidationError("--no-above must lie in 0...1, got \(noAbove)") }
        if let keepN, keepN < 1 { throw ValidationError("--keep-n must be at least 1, got \(keepN)") }
    }

    func run() async throws {
        let logger = try global.makeLogger(label: "latent.corpus")
        try reportingErrors {
            let tokenizer = Tokenizer(stripAccents: deaccent,
                                      stopwords: try stopwords.map(Tokenizer.stopwords(contentsOf:)) ?? [])
            let text = TextSource.guess(path: source, field: field)
            logger.info("collecting all words and their counts from \(source)")
            var vocabulary = try TextCorpus.buildVocabulary(source: text, tokenizer: tokenizer)
            logger.info("built vocabulary of \(vocabulary.count) unique tokens from \(vocabulary.documentCount) documents (total \(vocabulary.positionCount) corpus positions)")
            if noBelow != nil || noAbove != nil || keepN != nil {
                vocabulary.filterExtremes(noBelow: noBelow ?? 5, noAbove: noAbove ?? 0.5, keepN: keepN ?? 100_000, logger: logger)
            }
            try vocabulary.write(to: out + ".vocab")
            let corpus = TextCorpus(source: text, tokenizer: tokenizer, vocabulary: vocabulary)
            logger.info("storing corpus in Matrix Market format to \(out).mm")
            try MatrixMarketWriter.write(corpus, to: out + ".mm", termCount: vocabulary.count, logger: logger)
        }
    }
}

struct TFIDFCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tfidf",
        abstract: "Weight a bag-of-words corpus by TF-IDF (gensim's defaults: tf * log2(N/df), unit length).",
        discussion: "Example: latent tfidf wiki.mm --out wiki.tfidf.mm --model wiki.tfidf"
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Input corpus (.mm, .mm.gz, .mm.bz2, .lbc).") var input: String
    @Option(help: "Output corpus (.mm or .lbc).") var out: String
    @Option(help: "Also save the TF-IDF model to this folder.") var model: String?

    private func transform(_ corpus: some Corpus, logger: Logger) throws {
        let tfidf = try TFIDFModel(corpus: corpus, logger: logger)
        if let model { try tfidf.save(to: model) }
        try CorpusFile.write(tfidf.transformed(corpus), to: out, termCount: corpus.termCount)
    }

    func run() async throws {
        let logger = try global.makeLogger(label: "latent.tfidf")
        try reportingErrors {
            let corpus = try CorpusFile.open(input)
            try transform(corpus, logger: logger)
        }
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
        try reportingErrors {
            let corpus = try CorpusFile.open(file)
            let stats = try corpus.statistics()
            print("""
                file: \(file)
                documents: \(stats.documents)
                terms: \(stats.terms)
                non-zeros: \(stats.nonZeros)
                density: \(stats.density * 100)%
                empty documents: \(stats.emptyDocuments)
                """)
        }
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

    func run() async throws {
        let logger = try global.makeLogger(label: "latent.convert")
        try reportingErrors {
            let corpus = try CorpusFile.open(input)
            let stats = try CorpusFile.write(corpus, to: output, termCount: corpus.termCount, float32: float32)
            logger.info("converted \(input) to \(output): \(stats.documents) documents, \(stats.terms) terms, \(stats.nonZeros) non-zeros")
        }
    }
}
