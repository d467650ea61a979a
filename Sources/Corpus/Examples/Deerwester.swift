/// The classic 9-document corpus of Deerwester et al. (1990), the example of gensim's LSI
/// tutorial and of `make run`: titles of technical memos, five about human-computer
/// interaction and four about graphs.
public enum DeerwesterExample {
    public static let titles = [
        "Human machine interface for lab abc computer applications",
        "A survey of user opinion of computer system response time",
        "The EPS user interface management system",
        "System and human system engineering testing of EPS",
        "Relation of user perceived response time to error measurement",
        "The generation of random binary unordered trees",
        "The intersection graph of paths in trees",
        "Graph minors IV Widths of trees and well quasi ordering",
        "Graph minors A survey",
    ]

    /// The tutorial's stop words.
    public static let stopwords: Set<String> = ["for", "a", "of", "the", "and", "to", "in"]

    /// The tutorial's preprocessing: lowercase, split on whitespace, drop the stop words,
    /// then drop words that occur only once in the whole corpus.
    public static var texts: [[String]] {
        let tokenized = titles.map { title in
            title.lowercased().split(whereSeparator: \.isWhitespace).map(String.init).filter { !stopwords.contains($0) }
        }
        var frequency: [String: Int] = [:]
        for text in tokenized { for token in text { frequency[token, default: 0] += 1 } }
        return tokenized.map { $0.filter { frequency[$0, default: 0] > 1 } }
    }

    /// The vocabulary (12 terms, gensim's ids: "computer" 0 ... "minors" 11) and the
    /// bag-of-words corpus.
    public static func corpus() -> (vocabulary: Vocabulary, corpus: InMemoryCorpus) {
        var vocabulary = Vocabulary()
        vocabulary.add(documents: texts)
        let documents = texts.map { vocabulary.bagOfWords($0) }
        return (vocabulary, InMemoryCorpus(documents, termCount: vocabulary.idBound))
    }
}
