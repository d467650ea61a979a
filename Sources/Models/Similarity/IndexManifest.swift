import Foundation
import LatentCorpus

/// `index.json`: what a similarity index folder holds. Every path in it is relative to the
/// folder (a bare file name), so a moved or copied folder still opens; the models a query
/// goes through are named by absolute path and by their path from the folder, and checked
/// by fingerprint.
struct IndexManifest: Codable, Sendable, Equatable {
    static let fileName = "index.json"
    static let formatName = "latent-similarity-index"
    static let currentVersion = 1

    var format = Self.formatName
    var formatVersion = Self.currentVersion
    /// "dense" (documents in topic space) or "sparse" (e.g. TF-IDF vectors).
    var kind: String
    /// "float32" or "float64": how the vectors are stored.
    var precision: String
    /// Values per vector: topics, or terms.
    var dimension: Int
    /// Document numbers given so far (0 to documents - 1), removed ones included.
    var documents: Int
    /// Documents per shard when the index grows.
    var shardSize: Int
    var shards: [Shard]
    /// Removed document numbers, a sorted `<i8` array, when any were removed.
    var removed: Removed?
    /// `titles.tsv` when the documents have titles.
    var titles: String?
    /// How a text or a corpus becomes a query vector.
    var pipeline: Pipeline
    /// Incremented by every change, to name new files.
    var generation: Int
    /// "float16" when every dense shard has a half-precision copy (`NAME.f16.npy`) that a
    /// single query streams first, rescoring exactly only the documents that can still be
    /// among the best (see `IndexStore`); nil for none.
    var screening: String? = nil

    struct Shard: Codable, Sendable, Equatable {
        /// The shard's file name without extension (see `ShardFiles`).
        var file: String
        /// The number of its first document.
        var first: Int
        var documents: Int
        /// Non-zero values of a sparse shard (0 for a dense one).
        var nonzeros: Int
    }

    struct Removed: Codable, Sendable, Equatable {
        var file: String
        var count: Int
    }

    struct Pipeline: Codable, Sendable, Equatable {
        var vocabulary: Reference?
        var tfidf: Reference?
        /// An "lsi" or "lda" model folder, for a dense index.
        var model: Reference?
    }

    /// A file or folder the index was built through.
    struct Reference: Codable, Sendable, Equatable {
        /// "vocabulary", "tfidf", "lsi" or "lda".
        var kind: String
        var path: String
        /// The path from the index folder, tried first.
        var relative: String
        var fingerprint: String
    }

    var isDense: Bool { kind == "dense" }

    static func read(folder: String) throws -> IndexManifest {
        let path = folder + "/" + fileName
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw CorpusError(code: .io, file: folder, message: "no such index folder")
        }
        let bytes = try readWholeFile(path: path)
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let manifest: IndexManifest
        do {
            manifest = try decoder.decode(IndexManifest.self, from: Data(bytes))
        } catch let DecodingError.keyNotFound(key, context) {
            throw CorpusError(code: .format, file: path, message: "field '\(Self.describe(context.codingPath + [key]))' is missing")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw CorpusError(code: .format, file: path, message: "field '\(Self.describe(context.codingPath))': \(context.debugDescription)")
        } catch {
            throw CorpusError(code: .format, file: path, message: "not a similarity index description (expected a JSON object): \(error.localizedDescription)")
        }
        try manifest.check(path: path)
        return manifest
    }

    private static func describe(_ path: [any CodingKey]) -> String {
        path.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
            .trimmingCharacters(in: CharacterSet(charactersIn: "."))
    }

    /// Throws unless the description is consistent: known format and version, kinds, shards
    /// that follow each other and add up, and file names inside the folder.
    func check(path: String) throws {
        func fail(_ field: String, _ expected: String) -> CorpusError {
            CorpusError(code: .format, file: path, message: "field '\(field)': expected \(expected)")
        }
        guard format == Self.formatName else { throw fail("format", "'\(Self.formatName)', found '\(format)'") }
        guard formatVersion == Self.currentVersion else {
            throw fail("format_version", "version \(Self.currentVersion); version \(formatVersion) is not supported")
        }
        guard kind == "dense" || kind == "sparse" else { throw fail("kind", "'dense' or 'sparse', found '\(kind)'") }
        guard precision == "float32" || precision == "float64" else {
            throw fail("precision", "'float32' or 'float64', found '\(precision)'")
        }
        guard dimension >= 1, dimension <= Int(Int32.max) else { throw fail("dimension", "1 to \(Int32.max), found \(dimension)") }
        guard shardSize >= 1 else { throw fail("shard_size", "at least 1, found \(shardSize)") }
        guard generation >= 0 else { throw fail("generation", "a count from 0") }
        var next = 0
        for (i, shard) in shards.enumerated() {
            guard Self.isPlainName(shard.file) else { throw fail("shards[\(i)].file", "a file name inside the folder, found '\(shard.file)'") }
            guard shard.first == next else { throw fail("shards[\(i)].first", "\(next) (after the shards before it), found \(shard.first)") }
            guard shard.documents >= 0, shard.nonzeros >= 0, isDense ? shard.nonzeros == 0 : true else {
                throw fail("shards[\(i)]", "non-negative counts of documents and non-zeros")
            }
            next += shard.documents
        }
        guard documents == next else { throw fail("documents", "\(next), the sum of the shards' documents, found \(documents)") }
        if let removed {
            guard Self.isPlainName(removed.file) else { throw fail("removed.file", "a file name inside the folder") }
            guard removed.count >= 0, removed.count <= documents else { throw fail("removed.count", "0 to \(documents)") }
        }
        if let titles, !Self.isPlainName(titles) { throw fail("titles", "a file name inside the folder") }
        if let screening, screening != "float16" || !isDense { throw fail("screening", "\"float16\" on a dense index, or nothing") }
    }

    /// A name that stays inside the folder: no separator, not "." or "..".
    static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && !name.contains("/") && name != "." && name != ".." && !name.contains("\0")
    }

    /// Every file of the folder the index uses.
    var files: [String] {
        var names = [Self.fileName]
        for shard in shards {
            names += isDense ? ShardFiles.dense(shard.file) : ShardFiles.sparse(shard.file)
            if screening != nil { names.append(ShardFiles.screening(shard.file)) }
        }
        if let removed { names.append(removed.file) }
        if let titles { names.append(titles) }
        return names
    }

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}
