import ArgumentParser
import Foundation
import Latent
import Synchronization

struct WikiCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wiki",
        abstract: "Turn a Wikipedia dump into corpora (gensim's make_wiki): PREFIX_wordids.txt.bz2, PREFIX_bow.mm, PREFIX_tfidf.mm, PREFIX_titles.tsv.",
        discussion: """
            DUMP is a MediaWiki XML export (pages-articles), as .xml or .xml.bz2 (one stream or \
            several, as the multistream dumps are). Articles are read as gensim's WikiCorpus reads \
            them, with the same tokens: main namespace only, gensim's markup removal and tokenizer, \
            articles with fewer than --min-words tokens dropped (redirects go this way). The \
            dictionary is filtered as make_wiki does (--no-below 20, --no-above 0.1, --keep-n 100000) \
            and the TF-IDF weights are gensim's defaults. The dump is read once.

            Outputs: PREFIX_wordids.txt.bz2 (the vocabulary, gensim's save_as_text format), \
            PREFIX_bow.mm and PREFIX_tfidf.mm (with their .index), PREFIX_titles.tsv (document \
            number, page id, title), the TF-IDF model folder PREFIX.tfidf, and with --lbc the two \
            corpora as .lbc too.

            Example:
              latent wiki enwiki-latest-pages-articles.xml.bz2 --out wiki/en
              latent lsi wiki/en_tfidf.mm --vocab wiki/en_wordids.txt.bz2 --topics 400 --out wiki/en.lsi
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The dump: .xml or .xml.bz2.") var dump: String
    @Option(help: "The index of a multistream dump (default: NAME-index.txt.bz2 beside NAME.xml.bz2, when there): its streams then decompress in parallel.")
    var index: String?
    @Option(help: "Output prefix (PREFIX_bow.mm, ...).") var out: String
    @Option(help: "Drop tokens in fewer articles than this.") var noBelow = 20
    @Option(help: "Drop tokens in more than this fraction of articles.") var noAbove = 0.1
    @Option(help: "Keep at most this many of the most frequent tokens.") var keepN = 100_000
    @Option(help: "Drop articles with fewer tokens than this.") var minWords = 50
    @Option(help: "Shortest token kept, in characters.") var tokenMinLength = 2
    @Option(help: "Longest token kept, in characters.") var tokenMaxLength = 15
    @Flag(inversion: .prefixedNo, help: "Lowercase the text before tokenizing.") var lower = true
    @Option(help: "Namespaces whose pages are read, comma-separated (0: articles).") var namespaces = "0"
    @Flag(help: "Fix three defects of gensim's markup removal (references holding <br/> or <nowiki/>, name=\"value\" attributes, heading markers; gensim issues #3520, #1710, #2561). The tokens then differ from gensim's.")
    var cleanMarkup = false
    @Flag(help: "Also write PREFIX_bow.lbc and PREFIX_tfidf.lbc.") var lbc = false
    @Flag(help: "Also write PREFIX_texts.txt: each article's tokens on one line, space-separated (for word embeddings).")
    var texts = false
    @Option(help: "Threads that remove markup and tokenize (default: all cores); the dump is read on one more.")
    var threads: Int?
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if noBelow < 0 { throw ValidationError("--no-below must be at least 0, got \(noBelow)") }
        if !(noAbove >= 0 && noAbove <= 1) { throw ValidationError("--no-above must lie in 0...1, got \(noAbove)") }
        if keepN < 1 { throw ValidationError("--keep-n must be at least 1, got \(keepN)") }
        if minWords < 0 { throw ValidationError("--min-words must be at least 0, got \(minWords)") }
        if tokenMinLength < 1 || tokenMaxLength < tokenMinLength {
            throw ValidationError("token lengths: --token-min-length at least 1 and --token-max-length at least as large, got \(tokenMinLength) and \(tokenMaxLength)")
        }
    }

    func run() async throws {
        let logger = try global.makeLogger(label: "latent.wiki")
        let paths = Outputs(prefix: out)
        for corpus in paths.corpora(lbc: lbc) { try output.checkCorpus(corpus, inputs: [dump]) }
        try output.checkFile(paths.vocabulary, kind: .vocabulary, inputs: [dump])
        try output.checkFile(paths.titles, kind: .documentTable, inputs: [dump])
        if texts { try output.checkFile(paths.texts, kind: .tokenizedTexts, inputs: [dump]) }
        try output.checkModelFolder(paths.tfidfModel, kind: TFIDFModel.kind)
        guard FileManager.default.fileExists(atPath: dump) else {
            throw CorpusError(code: .io, file: dump, message: "no such file")
        }
        if let index, !dump.hasSuffix(".bz2") {
            throw ValidationError("--index \(index): a multistream index goes with a .xml.bz2 dump, not \(dump)")
        }

        let settings = WikiSettings(
            namespaces: Set(namespaces.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }),
            minTokens: minWords, tokenizer: WikiTokenizer(minLength: tokenMinLength, maxLength: tokenMaxLength, lower: lower),
            filter: FilterSettings(noBelow: noBelow, noAbove: noAbove, keepN: keepN), cleanMarkup: cleanMarkup)
        let builder = try WikiCorpusBuilder(dump: dump, index: index, settings: settings, scratchBeside: paths.bow)
        let outputs = OutputGroup()
        let titles = try AtomicFileWriter(path: paths.titles, kind: .documentTable, replacing: output.replacing, group: outputs)
        try titles.write("document\tpage id\ttitle\n")
        let tokens = try texts ? AtomicFileWriter(path: paths.texts, kind: .tokenizedTexts, replacing: output.replacing, group: outputs) : nil
        logger.info("reading the articles of \(dump)")
        let progress = WikiProgress(logger: logger, fileSize: Self.size(of: dump))
        try builder.read(threads: threads ?? ProcessInfo.processInfo.activeProcessorCount, logger: logger, article: { number, page, words in
            try titles.write("\(number)\t\(Self.field(page.id))\t\(Self.field(page.title))\n")
            try tokens?.write(words.joined(separator: " ") + "\n")
        }, progress: progress.update)
        progress.finish()
        try titles.commit()
        try tokens?.commit()

        let bow = try builder.finish(logger: logger)
        let vocabulary = builder.vocabulary
        try vocabulary.write(to: paths.vocabulary, replacing: output.replacing, group: outputs)
        logger.info("storing corpus in Matrix Market format to \(paths.bow)")
        try MatrixMarketWriter.write(bow, to: paths.bow, termCount: vocabulary.count, replacing: output.replacing,
                                     logger: logger, group: outputs)
        let tfidf = try TFIDFModel(corpus: bow, logger: logger)
        logger.info("storing corpus in Matrix Market format to \(paths.tfidf)")
        let emptied = DocumentCounter()
        try MatrixMarketWriter.write(tfidf.transformed(bow, emptied: emptied), to: paths.tfidf, termCount: vocabulary.count,
                                     replacing: output.replacing, logger: logger, group: outputs)
        if lbc {
            try BinaryCorpus.write(bow, to: paths.bowBinary, termCount: vocabulary.count, replacing: output.replacing, group: outputs)
            try BinaryCorpus.write(tfidf.transformed(bow), to: paths.tfidfBinary, termCount: vocabulary.count,
                                   replacing: output.replacing, group: outputs)
        }
        try outputs.commit()
        try tfidf.save(to: paths.tfidfModel, replacing: output.replacing)
        let stats = builder.statistics
        logger.info("\(stats.articles) articles of \(stats.pages) pages (\(stats.otherNamespace) outside namespaces \(namespaces), \(stats.tooShort) with fewer than \(minWords) tokens, \(stats.ignoredTitle) with an ignored title); \(vocabulary.count) tokens kept; wrote \(paths.corpora(lbc: lbc).joined(separator: ", ")), \(paths.vocabulary), \(paths.titles), \(paths.tfidfModel)")
        if emptied.value > 0, stats.articles > 0 {
            logger.warning("\(emptied.value) of \(stats.articles) articles have no token of the filtered vocabulary left; they are empty in \(paths.bow) and \(paths.tfidf)")
        }
    }

    /// A title or id as a TSV field: MediaWiki titles hold no tabs or line ends, but a
    /// hand-made dump might.
    private static func field(_ text: String) -> String {
        String(text.map { $0 == "\t" || $0 == "\n" || $0 == "\r" ? " " : $0 })
    }

    private static func size(of path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue
    }

    struct Outputs {
        let prefix: String
        var vocabulary: String { prefix + "_wordids.txt.bz2" }
        var bow: String { prefix + "_bow.mm" }
        var tfidf: String { prefix + "_tfidf.mm" }
        var bowBinary: String { prefix + "_bow.lbc" }
        var tfidfBinary: String { prefix + "_tfidf.lbc" }
        var titles: String { prefix + "_titles.tsv" }
        var texts: String { prefix + "_texts.txt" }
        var tfidfModel: String { prefix + ".tfidf" }

        func corpora(lbc: Bool) -> [String] { [bow, tfidf] + (lbc ? [bowBinary, tfidfBinary] : []) }
    }
}

/// Progress of reading a dump: pages, articles kept, how far into the file, MB/s of the file
/// and time left; a status line on a terminal, a log line every 10,000 pages otherwise.
final class WikiProgress: Sendable {
    private let logger: Logger
    private let fileSize: Int?
    private let line = StatusLine.standardError
    private let started = Date()
    private let lastLogged = Mutex(0)

    init(logger: Logger, fileSize: Int?) {
        self.logger = logger
        self.fileSize = fileSize
    }

    func update(_ statistics: WikiStatistics, _ fileOffset: Int) {
        let elapsed = max(Date().timeIntervalSince(started), 1e-3)
        var text = "\(statistics.pages) pages, \(statistics.articles) articles kept"
        text += String(format: ", %.1f MB/s of the dump", Double(fileOffset) / elapsed / 1e6)
        if let fileSize, fileSize > 0, fileOffset > 0 {
            let fraction = min(1, Double(fileOffset) / Double(fileSize))
            text = String(format: "%3.0f%% ", fraction * 100) + text
            if fraction < 1 { text += ", ETA " + ProgressDisplay.duration(elapsed * (1 - fraction) / fraction) }
        }
        if line.isTerminal {
            line.show(text)
        } else {
            let due = lastLogged.withLock { last in
                guard statistics.pages / 10_000 > last / 10_000 else { return false }
                last = statistics.pages
                return true
            }
            if due { logger.info("\(text)") }
        }
    }

    func finish() {
        if line.isTerminal { line.end() }
    }
}
