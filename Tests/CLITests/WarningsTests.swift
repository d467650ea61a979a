import Foundation
import Latent
import TestSupport
import Testing

/// Issue 12, must-show 4: degenerate input gets a warning, never silence; the small things
/// of item 5 each hold.
@Suite("warnings for degenerate input", .serialized, .timeLimit(.minutes(3)))
struct WarningsTests {
    static func run(_ arguments: [String]) throws -> ProcessResult {
        try CommandLineTests.run(arguments)
    }

    @Test("an empty input file, and a folder with no .txt files, are warned about, saying what was looked for")
    func noDocuments() throws {
        let dir = try TemporaryDirectory()
        try dir.write("empty.txt", "")
        var result = try Self.run(["corpus", dir.file("empty.txt"), "--out", dir.file("e")])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.error.contains("WARNING : no documents found in \(dir.file("empty.txt")): looked for lines (one document per line)"),
                "\(result.error)")
        try dir.write("docs/readme.md", "not a document")
        result = try Self.run(["corpus", dir.file("docs"), "--out", dir.file("d")])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.error.contains("WARNING : no documents found in \(dir.file("docs")): looked for .txt files (any case) in the folder and its subfolders"),
                "\(result.error)")
        // The empty corpus goes on through TF-IDF and LSI with warnings too.
        result = try Self.run(["tfidf", dir.file("e.mm"), "--out", dir.file("e.tfidf.mm")])
        #expect(result.status == 0 && result.error.contains("WARNING : \(dir.file("e.mm")) has no documents"), "\(result.error)")
        result = try Self.run(["lsi", dir.file("e.mm"), "--out", dir.file("e.lsi")])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.error.contains("WARNING : \(dir.file("e.mm")) has no documents: the model will have no topics"), "\(result.error)")
        #expect(result.error.contains("WARNING : kept 0 of the 200 topics asked: the corpus has no documents"), "\(result.error)")
    }

    @Test("a folder of .TXT files in subfolders is read in natural order, and PREFIX.files.tsv says which document came from where")
    func folderSource() throws {
        let dir = try TemporaryDirectory()
        for (name, text) in [("docs/10.TXT", "graph trees"), ("docs/2.txt", "graph minors"), ("docs/a/1.txt", "human interface")] {
            try dir.write(name, text)
        }
        let result = try Self.run(["corpus", dir.file("docs"), "--out", dir.file("d")])
        #expect(result.status == 0, "\(result.error)")
        #expect(try dir.text("d.files.tsv") == "document\tfile\n0\t2.txt\n1\t10.TXT\n2\ta/1.txt\n")
        let documents = try MatrixMarketCorpus(path: dir.file("d.mm")).allDocuments()
        let vocabulary = try Vocabulary(contentsOf: dir.file("d.vocab"))
        #expect(documents.map { $0.termIDs.compactMap { vocabulary[$0] }.sorted() }
                == [["graph", "minors"], ["graph", "trees"], ["human", "interface"]])
    }

    @Test("UTF-16 text is read; text that is not UTF-8 is warned about with its file and offset")
    func encodings() throws {
        let dir = try TemporaryDirectory()
        var utf16: [UInt8] = [0xFF, 0xFE]
        for unit in "graph minors\ngraph trees\n".utf16 { utf16 += [UInt8(unit & 0xFF), UInt8(unit >> 8)] }
        try dir.write("u16.txt", bytes: utf16)
        var result = try Self.run(["corpus", dir.file("u16.txt"), "--out", dir.file("u")])
        #expect(result.status == 0 && result.error.contains("UTF-16 little-endian text (byte-order mark); read as such"), "\(result.error)")
        #expect(try Vocabulary(contentsOf: dir.file("u.vocab")).count == 3)
        try dir.write("latin1.txt", bytes: Array("caf".utf8) + [0xE9] + Array(" au lait\n".utf8))
        result = try Self.run(["corpus", dir.file("latin1.txt"), "--out", dir.file("l")])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.error.contains("WARNING : \(dir.file("latin1.txt")):1 (byte 3): not valid UTF-8"), "\(result.error)")
    }

    @Test("every token filtered away, or none in the vocabulary, is warned about")
    func everythingFiltered() throws {
        let dir = try TemporaryDirectory()
        try dir.write("t.txt", LSICommandTests.titles)
        var result = try Self.run(["corpus", dir.file("t.txt"), "--out", dir.file("f"), "--no-below", "20"])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.error.contains("WARNING : every token was filtered away"), "\(result.error)")
        result = try Self.run(["corpus", dir.file("t.txt"), "--out", dir.file("c")])
        try #require(result.status == 0)
        try dir.write("other.txt", "zebra quagga\nokapi\n")
        result = try Self.run(["corpus", dir.file("other.txt"), "--vocab", dir.file("c.vocab"), "--out", dir.file("o")])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.error.contains("3 tokens, 3 not in the vocabulary and dropped (100.0%)"), "\(result.error)")
        #expect(result.error.contains("WARNING : none of the tokens of \(dir.file("other.txt")) is in the vocabulary"), "\(result.error)")
        try dir.write("numbers.txt", "1 2 3\n42\n")
        result = try Self.run(["corpus", dir.file("numbers.txt"), "--out", dir.file("n")])
        #expect(result.error.contains("WARNING : \(dir.file("numbers.txt")): no tokens in its 2 documents"), "\(result.error)")
    }

    @Test("TF-IDF of one document (every weight 0), and documents emptied by TF-IDF, are warned about")
    func tfidf() throws {
        let dir = try TemporaryDirectory()
        try dir.write("one.txt", "graph minors trees\n")
        var result = try Self.run(["corpus", dir.file("one.txt"), "--out", dir.file("one")])
        try #require(result.status == 0)
        result = try Self.run(["tfidf", dir.file("one.mm"), "--out", dir.file("one.tfidf.mm")])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.error.contains("WARNING : \(dir.file("one.mm")) has one document: every term occurs in every document, so every TF-IDF weight is 0"),
                "\(result.error)")
        try dir.write("two.txt", "graph minors\ngraph\n")
        result = try Self.run(["corpus", dir.file("two.txt"), "--out", dir.file("two")])
        result = try Self.run(["tfidf", dir.file("two.mm"), "--out", dir.file("two.tfidf.mm")])
        #expect(result.error.contains("WARNING : 1 of 2 documents have no TF-IDF weight left (all their terms occur in every document)"),
                "\(result.error)")
    }

    @Test("fewer topics kept than asked says why")
    func fewerTopics() throws {
        let dir = try TemporaryDirectory()
        try dir.write("t.txt", LSICommandTests.titles)
        _ = try Self.run(["corpus", dir.file("t.txt"), "--out", dir.file("c")])
        let result = try Self.run(["lsi", dir.file("c.mm"), "--vocab", dir.file("c.vocab"), "--topics", "20", "--out", dir.file("m")])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.error.contains("WARNING : kept 9 of the 20 topics asked: the corpus has only 9 documents"), "\(result.error)")
    }

    @Test("a vocabulary that does not match the corpus: more terms is refused naming both files; fewer is warned about")
    func vocabularyMismatch() throws {
        let dir = try TemporaryDirectory()
        try dir.write("t.txt", LSICommandTests.titles)
        try dir.write("small.txt", "graph minors trees\ngraph survey\n")
        _ = try Self.run(["corpus", dir.file("t.txt"), "--out", dir.file("c")])
        _ = try Self.run(["corpus", dir.file("small.txt"), "--out", dir.file("s")])
        var result = try Self.run(["lsi", dir.file("c.mm"), "--vocab", dir.file("s.vocab"), "--out", dir.file("m")])
        #expect(result.status == 1, "\(result.error)")
        #expect(result.error.contains("latent: error: \(dir.file("c.mm")) has 41 terms, but the vocabulary \(dir.file("s.vocab")) has 4 term ids"),
                "\(result.error)")
        result = try Self.run(["lsi", dir.file("s.mm"), "--vocab", dir.file("c.vocab"), "--out", dir.file("m")])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.error.contains("WARNING : \(dir.file("s.mm")) declares 4 terms and the vocabulary \(dir.file("c.vocab")) 41"),
                "\(result.error)")
    }

    @Test("small things: negative numbers, global options first, density, latent-generate --help")
    func smallThings() throws {
        let dir = try TemporaryDirectory()
        try dir.write("t.txt", LSICommandTests.titles)
        var result = try Self.run(["lsi", dir.file("x.mm"), "--topics", "-3", "--out", dir.file("m")])
        #expect(result.status == 64 && result.error.contains("topics: expected at least 1, got -3"), "\(result.error)")
        result = try Self.run(["corpus", dir.file("t.txt"), "--out", dir.file("c"), "--keep-n", "-1"])
        #expect(result.status == 64 && result.error.contains("--keep-n must be at least 1, got -1"), "\(result.error)")
        result = try Self.run(["--log-level", "warning", "corpus", dir.file("t.txt"), "--out", dir.file("c")])
        #expect(result.status == 0 && !result.error.contains("INFO"), "\(result.error)")
        result = try Self.run(["--log-level=debug", "info", dir.file("c.mm")])
        #expect(result.status == 0 && result.output.contains("density: 17.62%\n"), "\(result.output)")
        let generator = (CommandLineTests.binary as NSString).deletingLastPathComponent + "/latent-generate"
        let help = try runProcess(generator, ["--help"])
        #expect(help.status == 0 && help.output.contains("usage: latent-generate --out PREFIX"), "\(help.error)")
        let bad = try runProcess(generator, ["--frobnicate"])
        #expect(bad.status == 64 && bad.error.contains("unknown argument '--frobnicate'"), "\(bad.error)")
    }

    @Test("progress: TF-IDF and projections show it; a finished pass says what comes next on a line of its own")
    func progress() throws {
        let dir = try TemporaryDirectory()
        try dir.write("t.txt", LSICommandTests.titles)
        _ = try Self.run(["corpus", dir.file("t.txt"), "--out", dir.file("c")])
        var result = try Self.run(["tfidf", dir.file("c.mm"), "--out", dir.file("c.tfidf.mm")])
        #expect(result.error.contains("INFO : PROGRESS: saving document #9"), "\(result.error)")
        result = try Self.run(["lsi", dir.file("c.tfidf.mm"), "--topics", "2", "--out", dir.file("m"), "--multipass"])
        for pass in 1...4 {
            #expect(result.error.contains("INFO : all 9 documents processed (pass \(pass) of 4) in "), "\(result.error)")
        }
        result = try Self.run(["project", dir.file("m"), dir.file("c.tfidf.mm"), "--out", dir.file("p.mm")])
        #expect(result.error.contains("INFO : PROGRESS: saving document #9"), "\(result.error)")

        // On a terminal (script(1) gives the command one), the bar ends with its own line
        // break and the next log line starts on a fresh line.
        let command = [CommandLineTests.binary, "lsi", dir.file("c.tfidf.mm"), "--topics", "2", "--out", dir.file("m")]
            .map { "'\($0)'" }.joined(separator: " ")
        let terminal = try runProcess("/usr/bin/script", ["-q", "-e", "-c", command, "/dev/null"])
        #expect(terminal.status == 0, "\(terminal.error)")
        let transcript = terminal.output
        #expect(transcript.contains("[########################] 100% 9/9 documents"), "\(transcript)")
        #expect(transcript.contains(" documents/s\u{1B}[K\r\n"), "\(transcript.debugDescription)")
        #expect(!transcript.contains("documents/s2026-") && !transcript.contains("\u{1B}[K2026-"), "\(transcript.debugDescription)")
        #expect(transcript.contains("INFO : all 9 documents processed in "), "\(transcript)")
    }
}
