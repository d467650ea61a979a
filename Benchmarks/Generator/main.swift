import Foundation
import LatentCorpus
import LatentModels

/// latent-generate: writes a Wikipedia-shaped synthetic corpus for the benchmarks.
///
///     latent-generate --out PREFIX [--documents N] [--first F] [--terms V] [--topics K]
///                     [--mean-length L] [--seed S] [--raw] [--binary]
///
/// Writes PREFIX.mm (or PREFIX.lbc with --binary) holding TF-IDF weights (raw counts with
/// --raw), and PREFIX.vocab (gensim's save_as_text format, words w0 ... w{V-1}). The
/// defaults are the benchmarks' wiki-small: 100,000 documents x 100,000 terms, 500 latent
/// topics, 180 tokens per document on average, which gives about 150 distinct terms each.
struct Options {
    var out = ""
    var documents = 100_000
    var first = 0
    var terms = 100_000
    var topics = 500
    var meanLength = 180.0
    var seed: UInt64 = 1
    var raw = false
    var binary = false

    static func parse(_ arguments: [String]) throws -> Options {
        var options = Options()
        var index = 0
        func value(_ name: String) throws -> String {
            index += 1
            guard index < arguments.count else { throw UsageError(message: "\(name) needs a value") }
            return arguments[index]
        }
        func integer(_ name: String) throws -> Int {
            let text = try value(name)
            guard let number = Int(text.replacingOccurrences(of: "_", with: "")), number > 0 else {
                throw UsageError(message: "\(name): expected a positive integer, got '\(text)'")
            }
            return number
        }
        while index < arguments.count {
            switch arguments[index] {
            case "--help", "-h": throw HelpRequested()
            case "--out": options.out = try value("--out")
            case "--documents": options.documents = try integer("--documents")
            case "--first":
                let text = try value("--first")
                guard let number = Int(text.replacingOccurrences(of: "_", with: "")), number >= 0 else {
                    throw UsageError(message: "--first: expected an integer of at least 0, got '\(text)'")
                }
                options.first = number
            case "--terms": options.terms = try integer("--terms")
            case "--topics": options.topics = try integer("--topics")
            case "--mean-length":
                let text = try value("--mean-length")
                guard let length = Double(text), length > 0 else { throw UsageError(message: "--mean-length: expected a positive number, got '\(text)'") }
                options.meanLength = length
            case "--seed": options.seed = UInt64(try integer("--seed"))
            case "--raw": options.raw = true
            case "--binary": options.binary = true
            case let other: throw UsageError(message: "unknown argument '\(other)'")
            }
            index += 1
        }
        guard !options.out.isEmpty else { throw UsageError(message: "--out PREFIX is required") }
        return options
    }
}

struct UsageError: Error { var message: String }
struct HelpRequested: Error {}

let usage = """
    latent-generate: writes a Wikipedia-shaped synthetic corpus (LDA-like) for the benchmarks.

    usage: latent-generate --out PREFIX [--documents N] [--first F] [--terms V] [--topics K]
                           [--mean-length L] [--seed S] [--raw] [--binary]

      --out PREFIX      writes PREFIX.mm (or PREFIX.lbc with --binary) and PREFIX.vocab
      --documents N     documents (default 100000)
      --first F         number of the first document (default 0): documents F..<F+N of the
                        same process, e.g. a held-out set from the same topics
      --terms V         vocabulary size (default 100000)
      --topics K        latent topics of the generator (default 500)
      --mean-length L   tokens per document on average (default 180)
      --seed S          random seed (default 1)
      --raw             raw counts instead of TF-IDF weights
      --binary          Latent's binary format instead of Matrix Market
      --help            this text

    usage: latent-generate wiki --out DUMP [--pages N] [--seed S] [--vocabulary V] [--multistream]

      A synthetic MediaWiki dump with realistic markup (see WikiDumpGenerator.swift): DUMP is
      .xml or .xml.bz2; --multistream writes it as Wikipedia's multistream dumps are, with
      the -index.txt.bz2 beside it. Defaults: 10000 pages, seed 1, 20000 words.
    """


func writeVocabulary(_ path: String, documents: Int, frequencies: [Int]) throws {
    let file = try AtomicFileWriter(path: path, kind: .vocabulary)
    try file.write("\(documents)\n")
    // gensim sorts by word; "w10" < "w2" in code-point order, as Python sorts.
    let order = frequencies.indices.map { ("w\($0)", $0) }.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
    for (word, id) in order { try file.write("\(id)\t\(word)\t\(frequencies[id])\n") }
    try file.commit()
}

/// `latent-generate wiki --out DUMP [--pages N] [--seed S] [--vocabulary V] [--multistream]`.
func generateWikiDump(_ arguments: [String]) throws {
    var out = "", pages = 10_000, seed: UInt64 = 1, vocabulary = 20_000, multistream = false
    var index = 0
    func integer(_ name: String) throws -> Int {
        index += 1
        guard index < arguments.count, let number = Int(arguments[index].replacingOccurrences(of: "_", with: "")), number > 0 else {
            throw UsageError(message: "\(name): expected a positive integer")
        }
        return number
    }
    while index < arguments.count {
        switch arguments[index] {
        case "--out":
            index += 1
            guard index < arguments.count else { throw UsageError(message: "--out needs a value") }
            out = arguments[index]
        case "--pages": pages = try integer("--pages")
        case "--seed": seed = UInt64(try integer("--seed"))
        case "--vocabulary": vocabulary = try integer("--vocabulary")
        case "--multistream": multistream = true
        case "--help", "-h": throw HelpRequested()
        case let other: throw UsageError(message: "unknown argument '\(other)'")
        }
        index += 1
    }
    guard out.hasSuffix(".xml") || out.hasSuffix(".xml.bz2") else { throw UsageError(message: "wiki --out must name a .xml or .xml.bz2 file") }
    guard !multistream || out.hasSuffix(".xml.bz2") else { throw UsageError(message: "--multistream needs a .xml.bz2 output") }
    let indexPath = multistream ? String(out.dropLast(".xml.bz2".count)) + "-index.txt.bz2" : nil
    let started = Date()
    let written = try WikiDumpGenerator(pages: pages, seed: seed, vocabulary: vocabulary)
        .write(to: out, multistream: multistream, indexPath: indexPath)
    print("\(out): \(written.pages) pages, \(written.bytes) bytes of XML\(indexPath.map { ", index \($0)" } ?? ""), "
          + String(format: "written in %.1f s", Date().timeIntervalSince(started)))
}

do {
    if CommandLine.arguments.dropFirst().first == "wiki" {
        try generateWikiDump(Array(CommandLine.arguments.dropFirst(2)))
        exit(0)
    }
    let options = try Options.parse(Array(CommandLine.arguments.dropFirst()))
    let started = Date()
    let corpus = SyntheticCorpus(documents: options.documents, first: options.first, terms: options.terms, topics: options.topics,
                                 meanLength: options.meanLength, seed: options.seed)
    let tfidf = try TFIDFModel(corpus: corpus)
    try writeVocabulary(options.out + ".vocab", documents: options.documents, frequencies: tfidf.documentFrequencies)
    let path = options.out + (options.binary ? ".lbc" : ".mm")
    let stats = options.raw
        ? try CorpusFile.write(corpus, to: path, termCount: options.terms)
        : try CorpusFile.write(tfidf.transformed(corpus), to: path, termCount: options.terms)
    let seconds = Date().timeIntervalSince(started)
    print("\(path): \(stats.documents) documents x \(stats.terms) terms, \(stats.nonZeros) non-zeros "
          + String(format: "(%.1f per document), written in %.1f s", Double(stats.nonZeros) / Double(max(1, stats.documents)), seconds))
} catch is HelpRequested {
    print(usage)
} catch let error as UsageError {
    FileHandle.standardError.write(Data("latent-generate: \(error.message)\n\n\(usage)\n".utf8))
    exit(64)
} catch {
    FileHandle.standardError.write(Data("latent-generate: error: \(error)\n".utf8))
    exit(1)
}
