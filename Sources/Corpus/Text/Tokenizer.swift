import Foundation

/// gensim's `simple_preprocess`: lowercase, optionally strip accents, split into runs of
/// word characters that are not digits, keep tokens of `minLength` to `maxLength` code
/// points that do not start with `_`.
///
/// Word characters are Python's `\w` without `\d`: letters (L*), numeric characters other
/// than decimal digits (No, Nl), and `_`.
public struct Tokenizer: Sendable {
    public var stripAccents: Bool
    public var minLength: Int
    public var maxLength: Int
    /// Tokens dropped after tokenizing (an optional stopword list).
    public var stopwords: Set<String>

    public init(stripAccents: Bool = false, minLength: Int = 2, maxLength: Int = 15, stopwords: Set<String> = []) {
        self.stripAccents = stripAccents
        self.minLength = minLength
        self.maxLength = maxLength
        self.stopwords = stopwords
    }

    public func tokens(_ text: String) -> [String] {
        var normalized = text.lowercased()
        if stripAccents { normalized = Self.deaccent(normalized) }
        var result: [String] = []
        var current = String.UnicodeScalarView()
        var length = 0
        func flush() {
            if length >= minLength && length <= maxLength && current.first != "_" {
                let token = String(current)
                if !stopwords.contains(token) { result.append(token) }
            }
            current.removeAll(keepingCapacity: true)
            length = 0
        }
        for scalar in normalized.unicodeScalars {
            if Self.isWordCharacter(scalar) {
                current.append(scalar)
                length += 1
            } else if length > 0 {
                flush()
            }
        }
        if length > 0 { flush() }
        return result
    }

    static func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            let v = scalar.value
            return (v >= 0x61 && v <= 0x7A) || (v >= 0x41 && v <= 0x5A) || v == 0x5F
        }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .letterNumber, .otherNumber:
            return true
        default:
            return false
        }
    }

    /// Removes combining marks after canonical decomposition (gensim's `deaccent`).
    public static func deaccent(_ text: String) -> String {
        let decomposed = text.decomposedStringWithCanonicalMapping
        var kept = String.UnicodeScalarView()
        for scalar in decomposed.unicodeScalars where scalar.properties.generalCategory != .nonspacingMark {
            kept.append(scalar)
        }
        return String(kept).precomposedStringWithCanonicalMapping
    }

    /// Stopwords from a file, one per line (blank lines and `#` comments ignored).
    public static func stopwords(contentsOf path: String) throws -> Set<String> {
        let bytes = try readWholeFile(path: path)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw CorpusError(code: .format, file: path, message: "not valid UTF-8; expected one stopword per line")
        }
        var words = Set<String>()
        for line in text.split(whereSeparator: \.isNewline) {
            let word = line.trimmingCharacters(in: .whitespaces)
            if !word.isEmpty && !word.hasPrefix("#") { words.insert(word.lowercased()) }
        }
        return words
    }
}
