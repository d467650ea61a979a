import CCompression
import Foundation
import LatentCorpus
import LatentLinearAlgebra

/// Synthetic MediaWiki dumps (pages-articles, export schema 0.11) with the markup real
/// articles carry: nested templates, references, links of every form, files and images with
/// captions, categories, interlanguage links, tables, headings, lists, entities, comments,
/// math and nowiki, words of several scripts, redirects, pages of other namespaces, and now
/// and then a very long page. Words are drawn from a Zipf-like vocabulary, so that the
/// dictionary filters of `make_wiki` keep a realistic share of them.
///
/// Written as `.xml`, `.xml.bz2` in one stream, or (with `multistream`) as Wikipedia's
/// `pages-articles-multistream.xml.bz2`: the header, each group of 100 pages and the footer
/// compressed as separate streams, with the `-index.txt.bz2` of `offset:page id:title` lines.
struct WikiDumpGenerator {
    var pages: Int
    var seed: UInt64
    var vocabulary: Int = 20_000

    private static let syllables = ["ka", "ri", "to", "men", "sa", "lo", "ver", "di", "na", "pe", "qui", "stra", "bel",
                                    "on", "tu", "mar", "gen", "sim", "lat", "ent", "wo", "zy", "ch", "au"]
    private static let foreign = ["Москва", "東京都", "한국어", "हिन्दी", "ΟΔΟΣ", "Straße", "İstanbul", "القاهرة", "ǅemal",
                                  "Ελλάδα", "עברית", "ไทย", "café", "naïve", "x²", "Ⅻ", "٣٤٥"]

    /// The `index`-th word of the vocabulary: syllables, unique per index.
    static func word(_ index: Int) -> String {
        var n = index, text = ""
        repeat {
            text += syllables[n % syllables.count]
            n /= syllables.count
        } while n > 0
        return text
    }

    /// Writes the dump to `path` (and the index to `indexPath` when multistream).
    func write(to path: String, multistream: Bool, indexPath: String?) throws -> (bytes: Int, pages: Int) {
        var rng = SeededGenerator(seed: seed)
        let compressed = path.hasSuffix(".bz2")
        guard let file = fopen(path, "wb") else { throw CorpusError(code: .io, file: path, message: "cannot create") }
        defer { fclose(file) }
        var index = ""
        var xmlBytes = 0
        var fileOffset = 0
        func emit(_ text: String) throws {
            let bytes = Array(text.utf8)
            xmlBytes += bytes.count
            if compressed {
                let packed = try Self.bzip2(bytes)
                fwrite(packed, 1, packed.count, file)
                fileOffset += packed.count
            } else {
                fwrite(bytes, 1, bytes.count, file)
            }
        }
        // One stream for a plain .bz2: everything goes through one compressor.
        var single: [UInt8] = []
        func add(_ text: String) throws {
            if compressed && !multistream { single.append(contentsOf: text.utf8); xmlBytes += text.utf8.count } else { try emit(text) }
        }
        try add(Self.header)
        var group = ""
        var groupStart = fileOffset
        for number in 0..<pages {
            let id = number + 10
            let (title, namespace, text) = page(number, &rng)
            if multistream { index += "\(groupStart):\(id):\(title)\n" }
            group += "  <page>\n    <title>\(Self.escape(title))</title>\n    <ns>\(namespace)</ns>\n    <id>\(id)</id>\n"
            if text.hasPrefix("#REDIRECT") { group += "    <redirect title=\"\(Self.escape(title, quotes: true))\" />\n" }
            group += "    <revision>\n      <id>\(1000 + number)</id>\n      <timestamp>2026-01-01T00:00:00Z</timestamp>\n"
            group += "      <model>wikitext</model>\n      <format>text/x-wiki</format>\n"
            group += text.isEmpty ? "      <text bytes=\"0\" xml:space=\"preserve\" />\n"
                : "      <text bytes=\"\(text.utf8.count)\" xml:space=\"preserve\">\(Self.escape(text))</text>\n"
            group += "    </revision>\n  </page>\n"
            if (number + 1) % 100 == 0 || number + 1 == pages {
                try add(group)
                group = ""
                groupStart = fileOffset
            }
        }
        try add("</mediawiki>\n")
        if compressed && !multistream {
            let packed = try Self.bzip2(single)
            fwrite(packed, 1, packed.count, file)
        }
        if multistream, let indexPath {
            let packed = try Self.bzip2(Array(index.utf8))
            guard FileManager.default.createFile(atPath: indexPath, contents: Data(packed)) else {
                throw CorpusError(code: .io, file: indexPath, message: "cannot create")
            }
        }
        return (xmlBytes, pages)
    }

    /// A page: title, namespace and wikitext.
    private func page(_ number: Int, _ rng: inout SeededGenerator) -> (String, Int, String) {
        let title = Self.word(zipf(&rng)).capitalized + " " + Self.word(zipf(&rng)) + " \(number)"
        let roll = Double.random(in: 0..<1, using: &rng)
        if roll < 0.08 { return (title, 0, "#REDIRECT [[\(Self.word(zipf(&rng)).capitalized)]]") }
        if roll < 0.12 { return ("Talk:" + title, 1, paragraph(40, &rng)) }
        if roll < 0.14 { return ("Template:" + title, 10, "{{\(Self.word(zipf(&rng)))|\(paragraph(30, &rng))}}") }
        if roll < 0.15 { return ("Category:" + title, 14, paragraph(60, &rng)) }
        if roll < 0.16 { return (title, 0, "") }
        if roll < 0.17 { return ("Wikipedia:" + title, 0, article(&rng, paragraphs: 3)) }
        let long = Double.random(in: 0..<1, using: &rng) < 0.01
        return (title, 0, article(&rng, paragraphs: long ? 120 : Int.random(in: 1...8, using: &rng)))
    }

    private func article(_ rng: inout SeededGenerator, paragraphs: Int) -> String {
        // Each article is about one of 40 topics: part of its words come from the topic's own
        // stretch of the vocabulary, so that LSI and LDA find topics in the articles.
        let topic = Int.random(in: 0..<40, using: &rng)
        var text = "{{Infobox \(Self.word(zipf(&rng)))\n| name = \(Self.word(zipf(&rng)))\n| size = {{convert|\(Int.random(in: 1...900, using: &rng))|km}}\n}}\n"
        text += "'''\(Self.word(zipf(&rng)).capitalized)''' is a \(paragraph(20, &rng, topic: topic))<ref name=\"r\(Int.random(in: 0...9, using: &rng))\">{{cite web|url=http://example.org/\(Self.word(zipf(&rng)))|title=\(Self.word(zipf(&rng)))}}</ref>\n\n"
        for p in 0..<paragraphs {
            if p > 0, p % 3 == 0 { text += "== \(Self.word(zipf(&rng)).capitalized) ==\n" }
            text += paragraph(Int.random(in: 20...120, using: &rng), &rng, topic: topic) + "\n\n"
            if Double.random(in: 0..<1, using: &rng) < 0.2 { text += table(&rng) }
            if Double.random(in: 0..<1, using: &rng) < 0.2 {
                text += "* \(paragraph(8, &rng))\n* [[\(Self.word(zipf(&rng)))]]\n# \(paragraph(6, &rng))\n\n"
            }
        }
        text += "== References ==\n<references/>\n\n"
        for _ in 0..<Int.random(in: 0...3, using: &rng) { text += "[[Category:\(Self.word(zipf(&rng)).capitalized)]]\n" }
        for language in ["de", "fr", "pt", "zh-yue"].prefix(Int.random(in: 0...4, using: &rng)) {
            text += "\n[[\(language):\(Self.word(zipf(&rng)).capitalized)]]"
        }
        return text
    }

    private func paragraph(_ words: Int, _ rng: inout SeededGenerator, topic: Int? = nil) -> String {
        var parts: [String] = []
        for _ in 0..<words {
            let roll = Double.random(in: 0..<1, using: &rng)
            let w = Self.word(topicalIndex(topic, &rng)), v = Self.word(zipf(&rng))
            switch roll {
            case ..<0.70: parts.append(w)
            case ..<0.75: parts.append("[[\(w)]]")
            case ..<0.79: parts.append("[[\(w.capitalized) \(v)|\(v)]]")
            case ..<0.80: parts.append("[http://www.\(w).org/\(v) \(v) \(w)]")
            case ..<0.81: parts.append("[https://\(w).net]")
            case ..<0.82: parts.append("{{lang|fr|\(w) {{nowrap|\(v)}}}}")
            case ..<0.83: parts.append("<ref>\(v) {{cite book|title=\(w)}}</ref>")
            case ..<0.835: parts.append("<ref name=\"\(w)\" />")
            case ..<0.84: parts.append("[[File:\(w).jpg|thumb|\(v) in [[\(w)]]]]")
            case ..<0.845: parts.append("[[Image:\(v).png|left|\(w) \(v)]]")
            case ..<0.85: parts.append("''\(w)''")
            case ..<0.86: parts.append("'''\(w)'''")
            case ..<0.87: parts.append("\(w)&nbsp;\(v)")
            case ..<0.875: parts.append("&amp; \(w) &lt;\(v)&gt;")
            case ..<0.88: parts.append("<!-- \(w) \(v) -->")
            case ..<0.885: parts.append("<math>\(w)^2 + \(v)</math>")
            case ..<0.89: parts.append("<nowiki>[[\(w)]]</nowiki>")
            case ..<0.91: parts.append(Self.foreign[Int.random(in: 0..<Self.foreign.count, using: &rng)])
            case ..<0.92: parts.append("\(Int.random(in: 1...2026, using: &rng))")
            case ..<0.93: parts.append("\(w)<br/>\(v)")
            case ..<0.94: parts.append("&#\(Int.random(in: 65...90, using: &rng));\(w)")
            default: parts.append(w + ",")
            }
        }
        return parts.joined(separator: " ")
    }

    private func table(_ rng: inout SeededGenerator) -> String {
        var text = "{| class=\"wikitable\" style=\"width:100%\"\n|+ \(Self.word(zipf(&rng)))\n! \(Self.word(zipf(&rng))) !! \(Self.word(zipf(&rng)))\n"
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            text += "|-\n| \(Self.word(zipf(&rng))) || align=\"right\" | \(Int.random(in: 0...999, using: &rng)) || \(Self.word(zipf(&rng)))\n"
        }
        text += "| colspan=\"2\" bgcolor=\"#eee\" | \(Self.word(zipf(&rng)))\n|}\n"
        return text
    }

    /// A word of `topic` two times in five: one of the topic's 200 words, which lie past the
    /// 500 most frequent; otherwise, or without a topic, a word of the whole vocabulary.
    private func topicalIndex(_ topic: Int?, _ rng: inout SeededGenerator) -> Int {
        guard let topic, Double.random(in: 0..<1, using: &rng) < 0.4 else { return zipf(&rng) }
        return (500 + topic * 200 + Int.random(in: 0..<200, using: &rng)) % vocabulary
    }

    /// A word index with probability about proportional to 1 / (rank + 10).
    private func zipf(_ rng: inout SeededGenerator) -> Int {
        let u = Double.random(in: 0..<1, using: &rng)
        let n = Double(vocabulary)
        return min(vocabulary - 1, Int(10 * (pow((n + 10) / 10, u) - 1)))
    }

    static func escape(_ text: String, quotes: Bool = false) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            switch c {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"" where quotes: result += "&quot;"
            default: result.unicodeScalars.append(c)
            }
        }
        return result
    }

    static func bzip2(_ bytes: [UInt8]) throws -> [UInt8] {
        var input = bytes
        var capacity = UInt32(bytes.count + bytes.count / 100 + 600)
        var output = [UInt8](repeating: 0, count: Int(capacity))
        let status = input.withUnsafeMutableBytes { source in
            output.withUnsafeMutableBytes { destination in
                BZ2_bzBuffToBuffCompress(destination.baseAddress?.assumingMemoryBound(to: CChar.self), &capacity,
                                         source.baseAddress?.assumingMemoryBound(to: CChar.self), UInt32(source.count), 9, 0, 0)
            }
        }
        guard status == BZ_OK else { throw CorpusError(code: .io, file: "", message: "bzip2 compression failed (status \(status))") }
        return Array(output.prefix(Int(capacity)))
    }

    static let header = """
        <mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.mediawiki.org/xml/export-0.11/ http://www.mediawiki.org/xml/export-0.11.xsd" version="0.11" xml:lang="en">
          <siteinfo>
            <sitename>Synthetic Wikipedia</sitename>
            <dbname>synthwiki</dbname>
            <base>https://synth.example.org/wiki/Main_Page</base>
            <generator>latent-generate</generator>
            <case>first-letter</case>
            <namespaces>
              <namespace key="0" case="first-letter" />
              <namespace key="1" case="first-letter">Talk</namespace>
              <namespace key="10" case="first-letter">Template</namespace>
              <namespace key="14" case="first-letter">Category</namespace>
            </namespaces>
          </siteinfo>

        """
}
