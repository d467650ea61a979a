import Foundation
import LatentCorpus
import Logging
import TestSupport
import Testing

/// Reading MediaWiki dumps: what the reader gives, and every kind of bad input named.
@Suite("Wikipedia dumps")
struct WikiDumpTests {
    static func dump(_ pages: String, root: String = "<mediawiki xmlns=\"http://www.mediawiki.org/xml/export-0.10/\" version=\"0.10\">") -> String {
        "<?xml version=\"1.0\"?>\n" + root + "\n  <siteinfo><sitename>Test</sitename></siteinfo>\n" + pages + "</mediawiki>\n"
    }

    static func page(_ id: Int, title: String, ns: Int = 0, text: String?) -> String {
        let body = text.map { "<text xml:space=\"preserve\">\($0)</text>" } ?? "<text bytes=\"0\" />"
        return "  <page>\n    <title>\(title)</title>\n    <ns>\(ns)</ns>\n    <id>\(id)</id>\n    <revision><id>\(id + 100)</id>\(body)</revision>\n  </page>\n"
    }

    static func pages(_ path: String) throws -> [WikiPage] {
        let reader = try WikiDumpReader(path: path)
        var pages: [WikiPage] = []
        while let page = try reader.next() { pages.append(page) }
        return pages
    }

    static func compress(_ path: String) throws -> String {
        let result = try runProcess("/usr/bin/env", ["bzip2", "-k", "-f", path])
        try #require(result.status == 0, "bzip2: \(result.error)")
        return path + ".bz2"
    }

    /// The error reading `text` as a dump gives, as the user reads it.
    static func failure(_ text: String, bytes: [UInt8]? = nil) throws -> String {
        let dir = try TemporaryDirectory()
        let path = try bytes.map { try dir.write("d.xml", bytes: $0) } ?? dir.write("d.xml", text)
        do {
            _ = try pages(path)
        } catch let error as CorpusError {
            return "\(error)"
        }
        Issue.record("no error for \(text.prefix(200))")
        return ""
    }

    @Test("pages: title, namespace, first id, text with entities decoded and line ends normalised; empty text; other elements skipped")
    func reading() throws {
        let dir = try TemporaryDirectory()
        let text = Self.dump(Self.page(12, title: "A &amp; B", text: "x &lt;ref&gt;y&lt;/ref&gt; &#233;&#x4E2D;\r\nz\rw <!-- an XML comment, not the wiki's -->")
            + "<!-- a comment between pages -->\n"
            + Self.page(13, title: "Talk:C", ns: 1, text: "talk")
            + Self.page(14, title: "Empty", text: nil)
            + "  <page><title>Bare</title><ns>0</ns><id>15</id><redirect title=\"X\" /></page>\n")
        let pages = try Self.pages(try dir.write("d.xml", text))
        try #require(pages.count == 4)
        #expect(pages[0].title == "A & B" && pages[0].namespace == "0" && pages[0].id == "12")
        #expect(String(String.UnicodeScalarView(pages[0].text.compactMap(Unicode.Scalar.init))) == "x <ref>y</ref> é中\nz\nw ")
        #expect(pages[1].namespace == "1" && pages[1].title == "Talk:C")
        #expect(pages[2].text.isEmpty && pages[2].id == "14")
        #expect(pages[3].text.isEmpty && pages[3].title == "Bare")
        // The same through bzip2, and as two concatenated bzip2 streams.
        let bz = try Self.compress(dir.file("d.xml"))
        #expect(try Self.pages(bz) == pages)
        let half = text.index(text.startIndex, offsetBy: text.count / 2)
        let first = try Self.compress(try dir.write("a.xml", String(text[..<half])))
        let second = try Self.compress(try dir.write("b.xml", String(text[half...])))
        let joined = try dir.write("joined.xml.bz2", bytes: try dir.read("a.xml.bz2") + dir.read("b.xml.bz2"))
        _ = (first, second)
        #expect(try Self.pages(joined) == pages)

        // As a multistream dump with its index: streams decompressed in parallel, the same pages.
        let firstSize = try dir.read("a.xml.bz2").count
        let multi = try dir.write("m-multistream.xml.bz2", bytes: try dir.read("a.xml.bz2") + dir.read("b.xml.bz2"))
        _ = try Self.compress(try dir.write("m-multistream-index.txt", "\(firstSize):13:Talk:C\n\(firstSize):14:Empty\n"))
        let reader = try WikiDumpReader(path: multi, threads: 2)
        #expect(reader.multistream == dir.file("m-multistream-index.txt.bz2"))
        #expect(try Self.pages(multi) == pages)
    }

    @Test("a multistream index that does not match its dump is an error naming it")
    func badIndex() throws {
        let dir = try TemporaryDirectory()
        let text = Self.dump(Self.page(1, title: "T", text: "words"))
        let dump = try Self.compress(try dir.write("d.xml", text))
        let size = try dir.read("d.xml.bz2").count
        for (name, index, expected) in [("shifted", "7:1:T\n", "the index does not match this dump"),
                                        ("beyond", "\(size + 10):1:T\n", "outside the dump's \(size) bytes"),
                                        ("garbled", "seven:1:T\n", "expected offset:page id:title"),
                                        ("backwards", "20:1:T\n10:2:U\n", "offsets must not decrease")] {
            let index = try Self.compress(try dir.write(name + ".txt", index))
            do {
                _ = try WikiDumpReader(path: dump, index: index).next()
                Issue.record("\(name): no error")
            } catch let error as CorpusError {
                #expect("\(error)".contains(expected), "\(name): \(error)")
            }
        }
    }

    @Test("bad XML is an error naming the byte offset and what was expected")
    func badXML() throws {
        let good = Self.page(1, title: "T", text: "words")
        #expect(try Self.failure(Self.dump(good, root: "<mediawiki xmlns=\"http://example.org/other/\">")).contains("not in a MediaWiki export namespace"))
        #expect(try Self.failure(Self.dump("  <page><title>T</ns></page>\n")).contains("</ns> closes <title>: malformed XML"))
        let truncated = Self.dump(good + good)
        let cut = String(truncated.prefix(truncated.count - 40))
        let ending = try Self.failure(cut)
        #expect(ending.contains("truncated dump") || ending.contains("the file ends inside"), "\(ending)")
        #expect(try Self.failure(Self.dump(Self.page(1, title: "T", text: "a &bogus; b"))).contains("unknown entity &bogus;"))
        #expect(try Self.failure(Self.dump(Self.page(1, title: "T", text: "a &#1; b"))).contains("not a character XML allows"))
        var bytes = Array(Self.dump(Self.page(7, title: "T", text: "caf\u{E9}")).utf8)
        let at = bytes.firstIndex(of: 0xC3)!
        bytes[at] = 0xFF
        let message = try Self.failure("", bytes: bytes)
        #expect(message.contains("byte \(at) of the XML") && message.contains("0xff is not UTF-8") && message.contains("page id 7"), "\(message)")
        #expect(try Self.failure("").contains("no XML element"))
        #expect(try Self.failure("just text").contains("text outside the root element"))
    }

    @Test("a truncated or corrupt bzip2 dump is an error naming the file")
    func badCompression() throws {
        let dir = try TemporaryDirectory()
        var text = ""
        for id in 0..<200 { text += Self.page(id, title: "P\(id)", text: String(repeating: "word\(id % 7) ", count: 200)) }
        let bz = try Self.compress(try dir.write("d.xml", Self.dump(text)))
        let bytes = try dir.read("d.xml.bz2")
        let truncated = try dir.write("t.xml.bz2", bytes: Array(bytes.prefix(bytes.count / 2)))
        #expect(throws: CorpusError.self) { _ = try Self.pages(truncated) }
        var flipped = bytes
        flipped[bytes.count / 2] ^= 0x55
        let corrupt = try dir.write("c.xml.bz2", bytes: flipped)
        do {
            _ = try Self.pages(corrupt)
            Issue.record("a corrupt bzip2 stream was read")
        } catch let error as CorpusError {
            #expect("\(error)".contains("c.xml.bz2"), "\(error)")
        }
        let garbage = try dir.write("g.xml.bz2", bytes: bytes + Array("not bzip2 at all".utf8))
        #expect(throws: CorpusError.self) { _ = try Self.pages(garbage) }
        #expect(try Self.pages(bz).count == 200)
    }

    @Test("the builder drops pages as gensim does, counts why, and warns when nothing is kept")
    func builder() throws {
        let dir = try TemporaryDirectory()
        let article = String(repeating: "alpha beta gamma delta ", count: 20)
        let text = Self.page(1, title: "Kept", text: article + "[[Category:X]]")
            + Self.page(2, title: "Short", text: "too few words")
            + Self.page(3, title: "Talk:Other", ns: 1, text: article)
            + Self.page(4, title: "Template:Ignored", text: article)
            + Self.page(5, title: "Empty", text: nil)
            + Self.page(6, title: "Also kept", text: article + " epsilon")
        let path = try dir.write("d.xml", Self.dump(text))
        let builder = try WikiCorpusBuilder(dump: path, settings: WikiSettings(filter: FilterSettings(noBelow: 1, noAbove: 1, keepN: 10)),
                                            scratchBeside: dir.file("out_bow.mm"))
        var kept: [(Int, String, Int)] = []
        try builder.read(threads: 2, article: { number, page, tokens in kept.append((number, page.id, tokens.count)) })
        #expect(kept.map(\.0) == [0, 1] && kept.map(\.1) == ["1", "6"] && kept.map(\.2) == [80, 81])
        let stats = builder.statistics
        #expect(stats.pages == 6 && stats.articles == 2 && stats.otherNamespace == 1 && stats.tooShort == 2 && stats.ignoredTitle == 1)
        let corpus = try builder.finish()
        let documents = try corpus.allDocuments()
        #expect(builder.vocabulary.tokens.compactMap { $0 } == ["alpha", "beta", "delta", "gamma", "epsilon"])
        #expect(documents.map(\.termIDs) == [[0, 1, 2, 3], [0, 1, 2, 3, 4]])
        #expect(documents[1].weights == [20, 20, 20, 20, 1])

        // Nothing kept: a warning, an empty corpus.
        let empty = try dir.write("e.xml", Self.dump(Self.page(1, title: "Short", text: "few")))
        let none = try WikiCorpusBuilder(dump: empty, scratchBeside: dir.file("none_bow.mm"))
        let lines = LogLines()
        let logger = Logger(label: "test") { _ in CapturingHandler(lines: lines) }
        try none.read(logger: logger, article: { _, _, _ in })
        #expect(try none.finish().allDocuments().isEmpty)
        #expect(lines.all.contains { $0.contains("no article kept") && $0.contains("1 with fewer than 50 tokens") }, "\(lines.all)")
    }

    @Test("2,000 corruptions of a dump, plain and bzip2: pages read or a CorpusError, never a crash")
    func mutations() throws {
        var text = ""
        for id in 0..<6 {
            text += Self.page(id, title: "Page &amp; \(id)", ns: id % 3 == 0 ? 1 : 0,
                              text: "{{t|x}} ''a'' [[b|c]] &lt;ref&gt;r&lt;/ref&gt; {| class=x\n|-\n| a || b\n|} caf\u{E9} \(id)")
        }
        let valid = Array(Self.dump(text).utf8)
        let dir = try TemporaryDirectory()
        let check: (String) throws -> Void = { path in
            for page in try Self.pages(path) { _ = WikiTokenizer().tokens(WikiMarkup.plainText(page.text)) }
        }
        try MutationTests.survive("m.xml", valid: valid, rounds: 2_000, read: check)
        let bz = try Self.compress(try dir.write("v.xml", bytes: valid))
        try MutationTests.survive("m.xml.bz2", valid: try dir.read(URL(fileURLWithPath: bz).lastPathComponent), rounds: 1_000, read: check)
    }
}

@Suite("Wikipedia markup, cleaned")
struct WikiCleanMarkupTests {
    static func plain(_ text: String, clean: Bool) -> String {
        let codes = WikiMarkup.plainText(text.unicodeScalars.map(\.value), clean: clean)
        return String(String.UnicodeScalarView(codes.compactMap(Unicode.Scalar.init)))
    }

    @Test("--clean-markup fixes gensim's defects #3520, #1710 and #2561; the default keeps gensim's text")
    func clean() {
        let reference = "Population grew<ref>Census<br/>report http://example.org/a</ref> fast."
        #expect(Self.plain(reference, clean: false) == "Population grewreport http://example.org/a fast.")
        #expect(Self.plain(reference, clean: true) == "Population grew fast.")
        // Table attributes gensim leaves (from a table whose opening a template wrote).
        let table = "Votes:\n\nborder=0 cellpadding=\"1\" cellspacing=\"1\"\n\n Date"
        #expect(Self.plain(table, clean: false) == table)
        #expect(Self.plain(table, clean: true) == "Votes:\n\nborder=0  \n\n Date")
        #expect(Self.plain("Text\n== See also ==\nMore", clean: false) == "Text\n== See also ==\nMore")
        #expect(Self.plain("Text\n== See also ==\nMore", clean: true) == "Text\n See also \nMore")
        // Text that is no markup is left alone.
        #expect(Self.plain("a = b, \"quoted\" words; x=\"1\"", clean: true) == "a = b, \"quoted\" words; ")
    }
}
