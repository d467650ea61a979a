import Foundation
import Logging
import Synchronization

/// What gensim's `WikiCorpus` keeps of a dump, and how `make_wiki` filters its dictionary.
public struct WikiSettings: Sendable, Equatable {
    /// Namespaces whose pages are read (`filter_namespaces`; articles are "0").
    public var namespaces: Set<String>
    /// Articles with fewer tokens are dropped (`article_min_tokens`); redirects and stubs go
    /// this way.
    public var minTokens: Int
    public var tokenizer: WikiTokenizer
    /// The dictionary's filter (`filter_extremes` as `make_wiki` calls it).
    public var filter: FilterSettings
    /// Fix gensim's markup defects (`WikiMarkup.plainText(_:clean:)`); the tokens then
    /// differ from gensim's.
    public var cleanMarkup: Bool

    /// gensim's: main namespace, 50 tokens, tokens of 2 to 15 characters lowercased, and
    /// `make_wiki`'s `filter_extremes(no_below=20, no_above=0.1, keep_n=100000)`.
    public init(namespaces: Set<String> = ["0"], minTokens: Int = 50, tokenizer: WikiTokenizer = WikiTokenizer(),
                filter: FilterSettings = FilterSettings(noBelow: 20, noAbove: 0.1, keepN: 100_000), cleanMarkup: Bool = false) {
        self.cleanMarkup = cleanMarkup
        self.namespaces = namespaces
        self.minTokens = minTokens
        self.tokenizer = tokenizer
        self.filter = filter
    }

    /// A page as `get_texts` sees it: its tokens (none outside the namespaces; gensim gives
    /// such pages no text), and why it is dropped, if it is.
    func read(_ page: WikiPage) -> ReadPage {
        var header = page
        header.text = []
        guard let namespace = page.namespace, namespaces.contains(namespace) else {
            return ReadPage(page: header, tokens: [], dropped: .otherNamespace)
        }
        let tokens = tokenizer.tokens(WikiMarkup.plainText(page.text, clean: cleanMarkup))
        if tokens.count < minTokens { return ReadPage(page: header, tokens: tokens, dropped: .tooShort) }
        if Self.ignoredTitlePrefixes.contains(where: page.title.hasPrefix) {
            return ReadPage(page: header, tokens: tokens, dropped: .ignoredTitle)
        }
        return ReadPage(page: header, tokens: tokens, counts: Vocabulary.counts(of: tokens))
    }

    /// Title prefixes of pages gensim drops whatever their namespace (`IGNORED_NAMESPACES`).
    static let ignoredTitlePrefixes = ["Wikipedia", "Category", "File", "Portal", "Template", "MediaWiki", "User",
                                       "Help", "Book", "Draft", "WikiProject", "Special", "Talk"].map { $0 + ":" }
}

/// A page read, without its text.
struct ReadPage: Sendable {
    var page: WikiPage
    var tokens: [String]
    /// An article's distinct tokens with their counts, for the dictionary (counted on the
    /// worker).
    var counts: [(token: String, count: Int)] = []
    /// Why gensim drops the page; nil for an article.
    var dropped: Drop?

    enum Drop { case otherNamespace, tooShort, ignoredTitle }
}

/// Counts of one read of a dump, as gensim logs them.
public struct WikiStatistics: Sendable, Equatable {
    /// Pages read (gensim's "total articles").
    public var pages = 0
    /// Articles kept, and their tokens.
    public var articles = 0
    public var positions = 0
    /// Tokens of every page read, before pages were dropped.
    public var positionsAll = 0
    /// Pages dropped for their namespace, for too few tokens, and for their title.
    public var otherNamespace = 0
    public var tooShort = 0
    public var ignoredTitle = 0

    public init() {}
}

/// `make_wiki` in one read of the dump: the articles' tokens are counted into the dictionary
/// and their bags of words (with the unfiltered ids) spilled to a scratch file beside the
/// outputs; the dictionary is then filtered as gensim does, and `bagOfWords` reads the spill
/// back with the final ids. Titles go to `titles` as the articles are read.
///
/// gensim reads the dump twice (once for the dictionary, once for the corpus); the spill
/// costs a few bytes per distinct token of each article instead.
public final class WikiCorpusBuilder {
    public let dump: String
    /// The multistream index, when not beside the dump under its usual name.
    public let index: String?
    public let settings: WikiSettings
    /// The dictionary of every article, then filtered (`finish`).
    public private(set) var vocabulary = Vocabulary()
    public private(set) var statistics = WikiStatistics()
    private let spill: AtomicFileWriter

    /// - Parameter scratchBeside: a path in the folder where the scratch file may go (the
    ///   outputs' prefix).
    public init(dump: String, index: String? = nil, settings: WikiSettings = WikiSettings(), scratchBeside: String) throws {
        self.dump = dump
        self.index = index
        self.settings = settings
        spill = try AtomicFileWriter(scratchBeside: scratchBeside)
    }

    /// Reads the dump; `article` hears of each article kept (its number from 0, its page,
    /// without its text, and its tokens), `progress` of the counts so far and how far into
    /// the dump file reading is. The dump is decompressed and parsed on one thread while
    /// `threads` threads remove the markup and tokenize; the articles come in dump order.
    public func read(threads: Int = ProcessInfo.processInfo.activeProcessorCount, logger: Logger? = nil,
                     article: (Int, WikiPage, [String]) throws -> Void,
                     progress: ((WikiStatistics, Int) -> Void)? = nil) throws {
        let settings = settings, dump = dump, index = index
        let fileOffset = Mutex(0)
        let pipeline = OrderedPipeline<[WikiPage], [ReadPage]>(workers: threads, depth: 4 * max(1, threads), name: "latent.wiki", produce: { emit in
            let reader = try WikiDumpReader(path: dump, index: index, threads: threads)
            var batch: [WikiPage] = [], characters = 0
            while let page = try reader.next() {
                characters += page.text.count
                batch.append(page)
                // Batches of about a megabyte of text, or 100 pages.
                if characters >= 1 << 20 || batch.count >= 100 {
                    fileOffset.withLock { $0 = reader.fileOffset }
                    guard emit(batch) else { return }
                    batch = []
                    characters = 0
                }
            }
            fileOffset.withLock { $0 = reader.fileOffset }
            if !batch.isEmpty { _ = emit(batch) }
        }, transform: { pages in pages.map { settings.read($0) } })
        var record: [UInt32] = []
        while let pages = try pipeline.next() {
            for page in pages {
                statistics.pages += 1
                if statistics.pages % 1000 == 0 { progress?(statistics, fileOffset.withLock { $0 }) }
                let tokens = page.tokens
                statistics.positionsAll += tokens.count
                switch page.dropped {
                case .otherNamespace?: statistics.otherNamespace += 1
                case .tooShort?: statistics.tooShort += 1
                case .ignoredTitle?: statistics.ignoredTitle += 1
                case nil: break
                }
                guard page.dropped == nil else { continue }
                let bag = vocabulary.bagOfWords(counted: page.counts, tokens: tokens.count, addingNew: true)
                record.removeAll(keepingCapacity: true)
                record.append(UInt32(bag.termIDs.count))
                for (id, count) in zip(bag.termIDs, bag.weights) {
                    record.append(UInt32(id))
                    record.append(UInt32(count))
                }
                try record.withUnsafeBytes { try spill.write(raw: $0) }
                try article(statistics.articles, page.page, tokens)
                statistics.articles += 1
                statistics.positions += tokens.count
            }
        }
        progress?(statistics, fileOffset.withLock { $0 })
        logger?.info("finished iterating over Wikipedia corpus of \(statistics.articles) documents with \(statistics.positions) positions (total \(statistics.pages) articles, \(statistics.positionsAll) positions before pruning articles shorter than \(settings.minTokens) words)")
        if statistics.articles == 0 {
            logger?.warning("\(dump): no article kept (\(statistics.pages) pages: \(statistics.otherNamespace) outside namespaces \(settings.namespaces.sorted().joined(separator: ", ")), \(statistics.tooShort) with fewer than \(settings.minTokens) tokens, \(statistics.ignoredTitle) with an ignored title)")
        }
    }

    /// Filters the dictionary as `make_wiki` does and returns the bag-of-words corpus over
    /// the filtered ids, read back from the spill.
    public func finish(logger: Logger? = nil) throws -> WikiBagOfWords {
        let all = vocabulary
        vocabulary.filterExtremes(noBelow: settings.filter.noBelow, noAbove: settings.filter.noAbove,
                                  keepN: settings.filter.keepN, logger: logger)
        if vocabulary.count == 0, statistics.articles > 0 {
            logger?.warning("\(dump): no token is in at least \(settings.filter.noBelow) and at most \(settings.filter.noAbove * 100)% of the \(statistics.articles) articles: every document is empty")
        }
        try spill.flush()
        return WikiBagOfWords(spill: spill.temporaryFile, idMap: all.idMap(to: vocabulary),
                              documentCount: statistics.articles, termCount: vocabulary.count)
    }
}

/// The articles' bags of words over the filtered dictionary, read from the builder's spill
/// (so only while the builder lives).
public struct WikiBagOfWords: Corpus {
    let spill: String
    let idMap: [Int32?]
    public let documentCount: Int?
    public let termCount: Int?
    public var nonZeroCount: Int? { nil }

    init(spill: String, idMap: [Int32?], documentCount: Int, termCount: Int) {
        self.spill = spill
        self.idMap = idMap
        self.documentCount = documentCount
        self.termCount = termCount
    }

    public func makeReader() throws -> Reader {
        Reader(source: try ByteSource(path: spill), idMap: idMap, path: spill, remaining: documentCount ?? 0)
    }

    public struct Reader: DocumentReader {
        let source: ByteSource
        let idMap: [Int32?]
        let path: String
        var remaining: Int
        private var buffer: [UInt8] = []
        private var position = 0

        init(source: ByteSource, idMap: [Int32?], path: String, remaining: Int) {
            self.source = source
            self.idMap = idMap
            self.path = path
            self.remaining = remaining
        }

        public mutating func appendNext(to chunk: inout SparseChunk) throws -> Bool {
            guard remaining > 0 else { return false }
            remaining -= 1
            let count = Int(try words(1)[0])
            let pairs = try words(2 * count)
            for k in 0..<count {
                // The filter keeps ids in their order, so the mapped ids stay ascending.
                let word = pairs[2 * k]
                guard Int(word) < idMap.count else {
                    throw CorpusError(code: .io, file: path, message: "the scratch file holds term id \(word), beyond the \(idMap.count) read: was it changed?")
                }
                if let id = idMap[Int(word)] { chunk.appendEntry(term: id, weight: Double(pairs[2 * k + 1])) }
            }
            chunk.finishDocument()
            return true
        }

        /// The next `count` numbers of the spill.
        private mutating func words(_ count: Int) throws -> [UInt32] {
            let bytes = 4 * count
            if position + bytes > buffer.count {
                buffer.removeFirst(position)
                position = 0
                var block = [UInt8](repeating: 0, count: max(bytes, 1 << 20))
                while buffer.count < bytes {
                    let n = try block.withUnsafeMutableBytes { try source.read(into: $0) }
                    guard n > 0 else {
                        throw CorpusError(code: .io, file: path, message: "the scratch file ends early: was it removed?")
                    }
                    buffer.append(contentsOf: block[..<n])
                }
            }
            defer { position += bytes }
            return buffer.withUnsafeBytes { raw in
                (0..<count).map { raw.loadUnaligned(fromByteOffset: position + 4 * $0, as: UInt32.self) }
            }
        }
    }
}
