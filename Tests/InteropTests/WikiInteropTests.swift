import Foundation
import Latent
import TestSupport
import Testing

/// Latent's Wikipedia text pipeline against gensim 4.4.0's own functions (`filter_wiki`,
/// `wikicorpus.tokenize`), run on the same generated texts.
@Suite("Wikipedia markup against gensim", .serialized, .timeLimit(.minutes(5)))
struct WikiInteropTests {
    @Test("filter_wiki and tokenize: the same text left and the same tokens on 12,000 generated wiki texts")
    func markupAndTokens() throws {
        guard let python = try GensimInteropTests.python() else { return }
        let dir = try TemporaryDirectory()
        let records = dir.path + "/wiki-markup.jsonl"
        let made = try GensimInteropTests.run(python, [GensimInteropTests.interopFolder + "/wiki_markup.py", records, "12000"])
        try #require(made.status == 0, "wiki_markup.py: \(made.error)")
        let lines = try String(contentsOfFile: records, encoding: .utf8).split(separator: "\n")
        try #require(lines.count == 12000)
        let tokenizer = WikiTokenizer()
        var textMismatches = 0, tokenMismatches = 0
        for (number, line) in lines.enumerated() {
            let record = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let raw = try #require(record["text"] as? String)
            let expected = try #require(record["plain"] as? [Int]).map(UInt32.init)
            let expectedTokens = try #require(record["tokens"] as? [String])
            let plain = WikiMarkup.plainText(raw.unicodeScalars.map(\.value))
            if plain != expected {
                textMismatches += 1
                if textMismatches <= 3 {
                    Issue.record("record \(number + 1): text \(raw.debugDescription)\n  gensim: \(Self.show(expected))\n  latent: \(Self.show(plain))")
                }
            }
            let tokens = tokenizer.tokens(expected)
            if tokens != expectedTokens {
                tokenMismatches += 1
                if tokenMismatches <= 3 {
                    Issue.record("record \(number + 1): tokens of \(Self.show(expected))\n  gensim: \(expectedTokens)\n  latent: \(tokens)")
                }
            }
        }
        #expect(textMismatches == 0)
        #expect(tokenMismatches == 0)
    }

    static func show(_ codes: [UInt32]) -> String {
        String(codes.map { Unicode.Scalar($0).map { String(Character($0)) } ?? "\\u{\(String($0, radix: 16))}" }.joined()).debugDescription
    }
}
