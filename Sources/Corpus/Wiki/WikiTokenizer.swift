/// gensim 4.4's tokenizer for Wikipedia articles (`gensim.corpora.wikicorpus.tokenize`):
/// the text lowercased as Python's `str.lower()` does it, cut into runs of word characters
/// that are not digits (`utils.tokenize`'s `(((?![\d])\w)+)`), keeping tokens of `minLength`
/// to `maxLength` characters that do not start with `_`.
public struct WikiTokenizer: Sendable, Equatable {
    public var minLength: Int
    public var maxLength: Int
    public var lower: Bool

    /// gensim's defaults: tokens of 2 to 15 characters, lowercased.
    public init(minLength: Int = 2, maxLength: Int = 15, lower: Bool = true) {
        self.minLength = minLength
        self.maxLength = maxLength
        self.lower = lower
    }

    /// The tokens of plain text (markup already removed, see `WikiMarkup.plainText`).
    public func tokens(_ text: [UInt32]) -> [String] {
        let text = lower ? PythonText.lowercased(text) : text
        var tokens: [String] = []
        var start = 0
        var i = 0
        while i <= text.count {
            let inToken = i < text.count && PythonText.isWord(text[i]) && !PythonText.isDecimal(text[i])
            if !inToken {
                let length = i - start
                if length > 0, length >= minLength, length <= maxLength, text[start] != 0x5F {
                    var token = String.UnicodeScalarView()
                    // Word characters are never surrogates, so every one is a scalar.
                    for c in text[start..<i] { if let scalar = Unicode.Scalar(c) { token.append(scalar) } }
                    tokens.append(String(token))
                }
                start = i + 1
            }
            i += 1
        }
        return tokens
    }
}
