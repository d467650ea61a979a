import Logging

/// The mapping between tokens and term ids, with document frequencies: gensim's
/// `corpora.Dictionary`, with the same id assignment, the same filtering and the same text
/// file (`save_as_text` / `load_from_text`), so that a vocabulary moves between gensim and
/// Latent unchanged.
///
/// Tokens are compared by Unicode code points, as Python does, wherever order matters
/// (new ids, the sorted text file).
public struct Vocabulary: Sendable, Equatable {
    /// Token of each id (nil for an id not in use, which only a loaded file can leave).
    public private(set) var tokens: [String?] = []
    private var ids: [String: Int32] = [:]
    /// Documents each id occurs in.
    public private(set) var documentFrequencies: [Int] = []
    /// Occurrences of each id over the corpus (not stored in the text file).
    public private(set) var collectionFrequencies: [Int] = []
    /// Documents seen (gensim's `num_docs`).
    public private(set) var documentCount = 0
    /// Tokens seen (`num_pos`) and stored entries (`num_nnz`).
    public private(set) var positionCount = 0
    public private(set) var nonZeroCount = 0
    /// Ids in the order gensim's `token2id` dict holds them, which decides ties in
    /// `filterExtremes`.
    private var insertionOrder: [Int32] = []

    public init() {}

    /// The number of tokens (gensim's `len(dictionary)`).
    public var count: Int { ids.count }
    /// Every term id is below this (the number of rows of a term-document matrix).
    public var idBound: Int { tokens.count }

    public func id(of token: String) -> Int32? { ids[token] }

    public subscript(id: Int32) -> String? {
        id >= 0 && Int(id) < tokens.count ? tokens[Int(id)] : nil
    }

    // MARK: building

    /// The bag-of-words of a token list (gensim's `doc2bow`): counts per known token, ids
    /// ascending. With `addingNew`, unknown tokens get new ids (in code-point order of the
    /// tokens, as gensim does) and the frequencies and counts are updated.
    public mutating func bagOfWords(_ document: [String], addingNew: Bool) -> SparseDocument {
        bagOfWords(counted: Self.counts(of: document), tokens: document.count, addingNew: addingNew)
    }

    /// Each distinct token of a document with its count (what `bagOfWords(counted:)` takes;
    /// it may be computed on another thread).
    public static func counts(of document: [String]) -> [(token: String, count: Int)] {
        var counts: [String: Int] = [:]
        for token in document { counts[token, default: 0] += 1 }
        return counts.map { ($0.key, $0.value) }
    }

    /// `bagOfWords` of a document given as its distinct tokens with their counts (`counts(of:)`)
    /// and its number of tokens.
    public mutating func bagOfWords(counted counts: [(token: String, count: Int)], tokens: Int, addingNew: Bool) -> SparseDocument {
        if addingNew {
            var missing: [String] = []
            for (token, _) in counts where ids[token] == nil { missing.append(token) }
            missing.sort(by: codePointLess)
            for token in missing { insert(token, id: Int32(ids.count), documentFrequency: 0) }
        }
        var entries: [(Int32, Double)] = []
        entries.reserveCapacity(counts.count)
        for (token, count) in counts {
            guard let id = ids[token] else { continue }
            entries.append((id, Double(count)))
            if addingNew {
                documentFrequencies[Int(id)] += 1
                collectionFrequencies[Int(id)] += count
            }
        }
        if addingNew {
            documentCount += 1
            positionCount += tokens
            nonZeroCount += entries.count
        }
        entries.sort { $0.0 < $1.0 }
        return SparseDocument(uncheckedTermIDs: entries.map(\.0), weights: entries.map(\.1))
    }

    /// The bag-of-words of a token list over the known tokens; unknown tokens are ignored.
    public func bagOfWords(_ document: [String]) -> SparseDocument {
        var copy = self
        return copy.bagOfWords(document, addingNew: false)
    }

    /// Adds every document's tokens (gensim's `add_documents`).
    public mutating func add(documents: [[String]]) {
        for document in documents { _ = bagOfWords(document, addingNew: true) }
    }

    /// Adds the tokens of every document of `source` (gensim's `add_documents` over a text
    /// stream): new tokens get the next ids, in gensim's order; frequencies and counts grow.
    public mutating func add(source: TextSource, tokenizer: Tokenizer, diagnostics: TextDiagnostics? = nil) throws {
        try source.forEachText(diagnostics: diagnostics) { text in _ = bagOfWords(tokenizer.tokens(text), addingNew: true) }
    }

    private mutating func insert(_ token: String, id: Int32, documentFrequency: Int) {
        let index = Int(id)
        if index >= tokens.count {
            tokens.append(contentsOf: repeatElement(nil, count: index + 1 - tokens.count))
            documentFrequencies.append(contentsOf: repeatElement(0, count: index + 1 - documentFrequencies.count))
            collectionFrequencies.append(contentsOf: repeatElement(0, count: index + 1 - collectionFrequencies.count))
        }
        tokens[index] = token
        ids[token] = id
        documentFrequencies[index] = documentFrequency
        insertionOrder.append(id)
    }

    // MARK: filtering

    /// Keeps the tokens found in at least `noBelow` documents and at most `noAbove` (a
    /// fraction) of them, then the `keepN` most frequent of those, plus the tokens in
    /// `keep`; then renumbers the ids without gaps. Same result, ids included, as gensim's
    /// `filter_extremes(no_below, no_above, keep_n, keep_tokens)`.
    public mutating func filterExtremes(noBelow: Int = FilterSettings.gensim.noBelow,
                                        noAbove: Double = FilterSettings.gensim.noAbove,
                                        keepN: Int? = FilterSettings.gensim.keepN,
                                        keep: [String] = [], logger: Logger? = nil) {
        let noAboveAbsolute = Int(noAbove * Double(documentCount))
        let keepIDs = Set(keep.compactMap { ids[$0] })
        var good = insertionOrder.filter { id in
            let df = documentFrequencies[Int(id)]
            return (noBelow <= df && df <= noAboveAbsolute) || keepIDs.contains(id)
        }
        // A stable sort by decreasing frequency, kept tokens counting as in every document.
        let (documents, frequencies) = (documentCount, documentFrequencies)
        let rank = { (id: Int32) in keepIDs.contains(id) ? documents : frequencies[Int(id)] }
        good = good.enumerated().sorted { lhs, rhs in
            let (a, b) = (rank(lhs.element), rank(rhs.element))
            return a != b ? a > b : lhs.offset < rhs.offset
        }.map(\.element)
        if let keepN, good.count > keepN { good = Array(good.prefix(keepN)) }
        logger?.info("keeping \(good.count) tokens which were in no less than \(noBelow) and no more than \(noAboveAbsolute) (=\(formatPercent(noAbove))%) documents; discarding \(count - good.count)")
        filterTokens(keeping: Set(good))
    }

    /// Keeps only the ids in `keeping`, then renumbers (gensim's `filter_tokens(good_ids)`).
    public mutating func filterTokens(keeping: Set<Int32>) {
        insertionOrder = insertionOrder.filter { keeping.contains($0) }
        compactify()
    }

    /// Removes the ids in `removing`, then renumbers (gensim's `filter_tokens(bad_ids)`).
    public mutating func filterTokens(removing: Set<Int32>) {
        insertionOrder = insertionOrder.filter { !removing.contains($0) }
        compactify()
    }

    /// Renumbers the ids in use as 0, 1, 2... keeping their order (gensim's `compactify`).
    public mutating func compactify() {
        let inUse = insertionOrder.sorted()
        var newID = [Int32: Int32](minimumCapacity: inUse.count)
        for (index, id) in inUse.enumerated() { newID[id] = Int32(index) }
        var newTokens = [String?](repeating: nil, count: inUse.count)
        var newDF = [Int](repeating: 0, count: inUse.count)
        var newCF = [Int](repeating: 0, count: inUse.count)
        for id in inUse {
            let target = Int(newID[id]!)
            newTokens[target] = tokens[Int(id)]
            newDF[target] = documentFrequencies[Int(id)]
            newCF[target] = collectionFrequencies[Int(id)]
        }
        insertionOrder = insertionOrder.map { newID[$0]! }
        tokens = newTokens
        documentFrequencies = newDF
        collectionFrequencies = newCF
        ids = [:]
        for (index, token) in tokens.enumerated() { if let token { ids[token] = Int32(index) } }
    }

    /// A map from this vocabulary's ids to another's, for re-expressing a corpus after
    /// filtering (nil for tokens the other lacks).
    public func idMap(to other: Vocabulary) -> [Int32?] {
        tokens.map { token in token.flatMap { other.id(of: $0) } }
    }

    // MARK: files

    /// Reads gensim's `save_as_text` format: the number of documents on the first line
    /// (optional, as in gensim), then `id<TAB>token<TAB>document frequency` per line.
    public init(contentsOf path: String) throws {
        let bytes = try readWholeFile(path: path)
        try bytes.withUnsafeBufferPointer { try read($0, path: path) }
    }

    /// The lines of `bytes`, byte by byte: only tokens become strings (a vocabulary of
    /// 100,000 terms reads in a few milliseconds rather than tens).
    private mutating func read(_ bytes: UnsafeBufferPointer<UInt8>, path: String) throws {
        var lineNumber = 0
        var start = 0
        func fail(_ message: String) -> CorpusError {
            CorpusError(code: .syntax, file: path, line: lineNumber, message: message)
        }
        tokens.reserveCapacity(bytes.count / 16)
        ids.reserveCapacity(bytes.count / 16)
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            lineNumber += 1
            let lineStart = start
            var lineEnd = end
            start = end + 1
            if lineEnd > lineStart && bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            let line = UnsafeBufferPointer(rebasing: bytes[lineStart..<lineEnd])
            if line.contains(where: { $0 >= 0x80 }) && String(validating: line, as: UTF8.self) == nil {
                throw fail("not valid UTF-8")
            }
            if lineNumber == 1, !line.isEmpty, line.allSatisfy({ $0 == 0x20 || (0x30...0x39).contains($0) }) {
                let digits = String(decoding: line, as: UTF8.self)
                guard let documents = Int(digits.trimmingBlanks) else { throw fail("expected the number of documents") }
                documentCount = documents
                continue
            }
            var tabs = (0, 0), tabCount = 0
            for index in line.indices where line[index] == 0x09 {
                tabCount += 1
                if tabCount == 1 { tabs.0 = index } else if tabCount == 2 { tabs.1 = index }
            }
            guard tabCount == 2 else {
                let fields = tabCount + 1
                throw fail("expected 'id<TAB>token<TAB>document frequency', found \(fields) field\(fields == 1 ? "" : "s")")
            }
            let idField = UnsafeBufferPointer(rebasing: line[..<tabs.0])
            let tokenField = UnsafeBufferPointer(rebasing: line[(tabs.0 + 1)..<tabs.1])
            let frequencyField = UnsafeBufferPointer(rebasing: line[(tabs.1 + 1)...])
            guard let id = decimalInteger(idField).flatMap(Int32.init(exactly:)), id >= 0 else {
                throw fail("expected a non-negative term id, found '\(String(decoding: idField, as: UTF8.self))'")
            }
            guard let df = decimalInteger(frequencyField), df >= 0 else {
                throw fail("expected a document frequency, found '\(String(decoding: frequencyField, as: UTF8.self))'")
            }
            let token = String(decoding: tokenField, as: UTF8.self)
            if let existing = ids[token] { throw fail("token '\(token)' has id \(existing) and id \(id)") }
            if Int(id) < tokens.count, let other = tokens[Int(id)] { throw fail("id \(id) is used by '\(other)' and '\(token)'") }
            insert(token, id: id, documentFrequency: df)
        }
    }

    /// Writes gensim's `save_as_text` format, tokens sorted by code point; to a temporary
    /// file renamed into place (compressed when `path` ends in `.gz` or `.bz2`).
    /// - Throws: `CorpusError` when `path` holds something else than a vocabulary (see
    ///   `OutputCheck.file`), or on a write error.
    public func write(to path: String, replacing: ReplacePolicy = .sameKind, group: OutputGroup? = nil) throws {
        let file = try AtomicFileWriter(path: path, kind: .vocabulary, replacing: replacing, group: group)
        try file.write("\(documentCount)\n")
        let order = ids.sorted { codePointLess($0.key, $1.key) }
        var line: [UInt8] = []
        for (token, id) in order {
            line.removeAll(keepingCapacity: true)
            line.append(contentsOf: String(id).utf8)
            line.append(0x09)
            line.append(contentsOf: token.utf8)
            line.append(0x09)
            line.append(contentsOf: String(documentFrequencies[Int(id)]).utf8)
            line.append(0x0A)
            try file.write(bytes: line)
        }
        try file.commit()
    }
}

/// Settings of `Vocabulary.filterExtremes`.
public struct FilterSettings: Sendable, Equatable {
    public var noBelow: Int
    public var noAbove: Double
    public var keepN: Int

    public init(noBelow: Int, noAbove: Double, keepN: Int) {
        self.noBelow = noBelow
        self.noAbove = noAbove
        self.keepN = keepN
    }

    /// gensim's defaults of `filter_extremes`: 5 documents, half of them, 100,000 tokens.
    public static let gensim = FilterSettings(noBelow: 5, noAbove: 0.5, keepN: 100_000)
}

/// Python's string order: by Unicode code points.
public func codePointLess(_ a: String, _ b: String) -> Bool {
    // UTF-8 orders byte strings as their code points (it was designed so), and its bytes
    // are what a native string holds: no decoding.
    a.utf8.lexicographicallyPrecedes(b.utf8)
}

/// The integer that `bytes` spell in decimal, with an optional sign, as `Int(_: String)`
/// reads it (the magnitude by `ByteScanner`); nil for anything else (blanks included) or
/// beyond Int's range.
private func decimalInteger(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
    let negative = bytes.first == 0x2D, signed = negative || bytes.first == 0x2B
    var scanner = ByteScanner(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes.dropFirst(signed ? 1 : 0))))
    guard let magnitude = scanner.unsignedInteger(), scanner.atEnd else { return nil }
    return negative ? -magnitude : magnitude
}

extension String {
    fileprivate var trimmingBlanks: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
