import Foundation
import LatentCorpus
import LatentLinearAlgebra
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// How an index stores its vectors.
public struct IndexSettings: Sendable, Equatable {
    /// Store Float64 instead of Float32 (gensim's default, and Latent's).
    public var float64: Bool
    /// Documents per shard (gensim's `Similarity` default, 32768).
    public var shardSize: Int
    /// For a dense index, keep a half-precision copy of the vectors that single queries read
    /// first (half the bytes), rescoring exactly only the documents within the copy's error
    /// bound of the best: results are those of the exact search.
    public var screening: Bool

    public init(float64: Bool = false, shardSize: Int = 32768, screening: Bool = true) {
        self.float64 = float64
        self.shardSize = shardSize
        self.screening = screening
    }
}

/// What a new index's documents went through, recorded in `index.json` so that a text or a
/// corpus can later be turned into a query the same way (see `QueryPipeline`).
public struct IndexSources: Sendable, Equatable {
    public var vocabulary: String?
    public var tfidf: String?
    /// An LSI or LDA model folder, for a dense index.
    public var model: String?

    public init(vocabulary: String? = nil, tfidf: String? = nil, model: String? = nil) {
        self.vocabulary = vocabulary
        self.tfidf = tfidf
        self.model = model
    }
}

/// What building or growing an index saw.
public struct IndexBuildReport: Sendable, Equatable {
    public var documents = 0
    /// Documents with no value in the index's space (a zero vector matches nothing).
    public var emptyDocuments = 0
    public var shards = 0
}

extension SimilarityIndex {
    /// Builds an index of every document of `corpus` (vectors of `dimension` values: a dense
    /// index for topic vectors, a sparse one for term vectors) in the folder `path`, written
    /// beside it and moved into place when complete. An existing folder at `path` is replaced
    /// only when it is an index holding nothing but its own files.
    /// - Throws: `CorpusError` for an output that may not be replaced or a write error;
    ///   `ModelError` for a document with an id beyond `dimension` or a non-finite value.
    public static func build<C: Corpus>(
        _ corpus: C, at path: String, dense: Bool, dimension: Int, settings: IndexSettings = IndexSettings(),
        sources: IndexSources = IndexSources(), titles: String? = nil, logger: Logger? = nil,
        progress: ((Int) -> Void)? = nil
    ) throws -> (SimilarityIndex, IndexBuildReport) {
        guard dimension >= 1, dimension <= Int(Int32.max) else {
            throw ModelError(code: .invalidParameter, message: "dimension: expected 1 to \(Int32.max), got \(dimension)")
        }
        guard settings.shardSize >= 1 else {
            throw ModelError(code: .invalidParameter, message: "shard size: expected at least 1 document, got \(settings.shardSize)")
        }
        try checkOutput(path)
        let userTitles = try titles.map { try DocumentTitles.parseUserFile($0) }
        let pipeline = try IndexManifest.Pipeline(sources, indexFolder: path)
        let temporary = TemporaryFiles.name(beside: path)
        do {
            try TemporaryFiles.create(temporary) {
                try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: false)
            }
        } catch let error as CorpusError {
            throw error
        } catch {
            throw CorpusError(code: .io, file: path, message: "cannot create the temporary folder \(temporary): \(error.localizedDescription)", cause: error)
        }
        do {
            var manifest = IndexManifest(kind: dense ? "dense" : "sparse", precision: settings.float64 ? "float64" : "float32",
                                         dimension: dimension, documents: 0, shardSize: settings.shardSize, shards: [],
                                         removed: nil, titles: nil, pipeline: pipeline, generation: 0,
                                         screening: dense && settings.screening ? "float16" : nil)
            var created: [String] = []  // inside the temporary folder, removed with it on failure
            let report = try appendShards(corpus, to: &manifest, folder: temporary, logger: logger, progress: progress,
                                          created: &created)
            if let userTitles {
                manifest.titles = "titles.tsv"
                let file = try AtomicFileWriter(path: temporary + "/titles.tsv", kind: .documentTable)
                try DocumentTitles.write(userTitles, documents: 0..<manifest.documents, to: file, header: true)
                try file.commit()
                warnAboutTitles(userTitles, documents: manifest.documents, file: titles ?? "", logger: logger)
            }
            try writeManifest(manifest, folder: temporary)
            try checkOutput(path)
            try TemporaryFiles.moveIntoPlace([temporary]) { try ModelFolder.swapIntoPlace(temporary, path) }
            if report.documents == 0 {
                logger?.warning("\(path): the corpus has no documents; the index is empty and every query finds nothing")
            } else if report.emptyDocuments > 0 {
                logger?.warning("\(path): \(report.emptyDocuments) of \(report.documents) documents have no value in the index's space (zero vectors); they match no query")
            }
            return (try SimilarityIndex(contentsOf: path), report)
        } catch {
            TemporaryFiles.remove(temporary)
            throw error
        }
    }

    /// Adds every document of `corpus` to the index (in new shards; the numbers go on from
    /// `documentNumbers`), then returns the index reopened. New files are written first and
    /// `index.json` replaced last, so an interrupted add leaves the index as it was.
    public func adding<C: Corpus>(_ corpus: C, titles: String? = nil, logger: Logger? = nil,
                                  progress: ((Int) -> Void)? = nil) throws -> (SimilarityIndex, IndexBuildReport) {
        var manifest = self.manifest
        manifest.generation += 1
        let before = manifest
        let userTitles = try titles.map { try DocumentTitles.parseUserFile($0) }
        var created: [String] = []
        do {
            let report = try Self.appendShards(corpus, to: &manifest, folder: path, logger: logger, progress: progress,
                                               created: &created)
            if userTitles != nil || manifest.titles != nil {
                var all: [Int: String] = [:]
                for (document, title) in (self.titles ?? []).enumerated() where !title.isEmpty { all[document] = title }
                for (document, title) in userTitles ?? [:] { all[before.documents + document] = title }
                let name = "titles-\(manifest.generation).tsv"
                let file = try AtomicFileWriter(path: path + "/" + name, kind: .documentTable)
                try DocumentTitles.write(all, documents: 0..<manifest.documents, to: file, header: true)
                try file.commit()
                created.append(name)
                manifest.titles = name
            }
            try Self.writeManifest(manifest, folder: path)
            Self.removeUnused(before: before, after: manifest, folder: path)
            logger?.info("\(path): added \(report.documents) documents (numbers \(before.documents) to \(manifest.documents - 1)); \(manifest.documents) in all")
            if report.documents == 0 { logger?.warning("\(path): the corpus to add has no documents; the index is unchanged") }
            return (try SimilarityIndex(contentsOf: path), report)
        } catch {
            for name in created { TemporaryFiles.removeQuietly(path + "/" + name) }
            throw error
        }
    }

    /// Removes documents by number (they are never returned again; their numbers are not
    /// given again), then returns the index reopened.
    /// - Throws: `ModelError` naming a number that is not in the index.
    public func removing(_ documents: [Int], logger: Logger? = nil) throws -> SimilarityIndex {
        var manifest = self.manifest
        let before = manifest
        if let bad = documents.first(where: { $0 < 0 || $0 >= manifest.documents }) {
            throw ModelError(code: .invalidInput, message: "document \(bad) is not in the index (documents 0 to \(max(0, manifest.documents - 1)))")
        }
        var removed = Set((0..<manifest.documents).filter { isRemoved($0) })
        let already = documents.filter { removed.contains($0) }
        if !already.isEmpty {
            logger?.warning("\(path): \(already.count) of the documents were removed before (\(already.prefix(5).map(String.init).joined(separator: ", "))\(already.count > 5 ? ", ..." : ""))")
        }
        removed.formUnion(documents)
        manifest.generation += 1
        let name = "removed-\(manifest.generation).npy"
        let sorted = removed.sorted()
        try NumPyArray(shape: [sorted.count], element: .int64, values: sorted.map { Double($0) }).write(to: path + "/" + name)
        manifest.removed = IndexManifest.Removed(file: name, count: sorted.count)
        do {
            try Self.writeManifest(manifest, folder: path)
        } catch {
            TemporaryFiles.removeQuietly(path + "/" + name)
            throw error
        }
        Self.removeUnused(before: before, after: manifest, folder: path)
        logger?.info("\(path): \(sorted.count - (before.removed?.count ?? 0)) documents removed; \(manifest.documents - sorted.count) remain")
        return try SimilarityIndex(contentsOf: path)
    }

    /// Writes the corpus's documents as new shards of `folder`, updating `manifest`; names
    /// the files it made in `created`.
    private static func appendShards<C: Corpus>(_ corpus: C, to manifest: inout IndexManifest, folder: String, logger: Logger?,
                                                progress: ((Int) -> Void)?, created: inout [String]) throws -> IndexBuildReport {
        var report = IndexBuildReport()
        var writer: ShardWriter?
        let dimension = manifest.dimension
        func finishShard() throws {
            guard let current = writer else { return }
            let shard = try current.commit(first: manifest.documents)
            manifest.documents += shard.documents
            manifest.shards.append(shard)
            report.shards += 1
            writer = nil
        }
        var reader = try corpus.makeReader()
        while let document = try reader.next() {
            let number = manifest.documents + (writer?.documents ?? 0)
            var sum = 0.0
            for (id, value) in zip(document.termIDs, document.weights) {
                guard Int(id) < dimension else {
                    throw ModelError(code: .invalidInput, message:
                        "document \(report.documents) of the corpus: \(manifest.isDense ? "topic" : "term id") \(id) is outside the index's \(dimension) dimensions")
                }
                guard value.isFinite else {
                    throw ModelError(code: .invalidInput, message: "document \(report.documents) of the corpus: the value of \(id) is \(value), not a finite number")
                }
                sum += value * value
            }
            let norm = sum.squareRoot()
            if norm == 0 { report.emptyDocuments += 1 }
            if writer == nil {
                let name = "shard-\(manifest.generation)-\(manifest.shards.count)"
                writer = try ShardWriter(folder: folder, name: name, dimension: dimension, dense: manifest.isDense,
                                         float64: manifest.precision == "float64", screening: manifest.screening != nil)
                created += manifest.isDense ? ShardFiles.dense(name) : ShardFiles.sparse(name)
                if manifest.screening != nil { created.append(ShardFiles.screening(name)) }
            }
            try writer?.append(termIDs: document.termIDs, values: document.weights, norm: norm > 0 ? norm : 1)
            report.documents += 1
            if report.documents % 100_000 == 0 {
                logger?.info("indexed \(report.documents) documents (#\(number))")
                progress?(report.documents)
            }
            if let current = writer, current.documents >= manifest.shardSize { try finishShard() }
        }
        try finishShard()
        progress?(report.documents)
        return report
    }

    private static func warnAboutTitles(_ titles: [Int: String], documents: Int, file: String, logger: Logger?) {
        let beyond = titles.keys.filter { $0 >= documents }.count
        if beyond > 0 { logger?.warning("\(file): \(beyond) titles are for documents beyond the corpus's \(documents); they were left out") }
        let missing = (0..<documents).filter { titles[$0] == nil }.count
        if missing > 0 { logger?.warning("\(file): \(missing) of \(documents) documents have no title") }
    }

    /// Replaces `index.json` in `folder`: written beside it, synced, renamed over it.
    static func writeManifest(_ manifest: IndexManifest, folder: String) throws {
        let path = folder + "/" + IndexManifest.fileName
        let temporary = TemporaryFiles.name(beside: path)
        do {
            let data = try manifest.encoded()
            try TemporaryFiles.create(temporary) { try data.write(to: URL(fileURLWithPath: temporary)) }
            let fd = open(temporary, O_RDONLY)
            if fd >= 0 {
                fsync(fd)
                close(fd)
            }
            try TemporaryFiles.moveIntoPlace([temporary]) {
                guard rename(temporary, path) == 0 else {
                    throw CorpusError(code: .io, file: path, message: "cannot move \(temporary) into place: \(String(cString: strerror(errno)))")
                }
            }
        } catch let error as CorpusError {
            TemporaryFiles.remove(temporary)
            throw error
        } catch {
            TemporaryFiles.remove(temporary)
            throw CorpusError(code: .io, file: path, message: "cannot write: \(error.localizedDescription)", cause: error)
        }
    }

    /// Removes the files `before` used that `after` does not (an old removed list or titles).
    private static func removeUnused(before: IndexManifest, after: IndexManifest, folder: String) {
        let kept = Set(after.files)
        for name in before.files where !kept.contains(name) { TemporaryFiles.removeQuietly(folder + "/" + name) }
    }

    /// Throws unless an index may be written at `path`: nothing there, an empty folder, or an
    /// index folder holding nothing but its own files.
    static func checkOutput(_ path: String) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            try OutputCheck.requireParentFolder(of: path)
            return
        }
        guard isFolder.boolValue else {
            throw CorpusError(code: .refused, file: path, message: "is a file, not an index folder; it was left as it is. Choose another output folder")
        }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        if entries.isEmpty { return }
        guard let manifest = try? IndexManifest.read(folder: path) else {
            throw CorpusError(code: .refused, file: path, message: "is a folder that is not a similarity index (it holds \(entries.sorted().prefix(3).joined(separator: ", "))\(entries.count > 3 ? ", ..." : "")); it was left as it is. Choose another output folder")
        }
        let own = Set(manifest.files)
        let foreign = entries.filter { !own.contains($0) }.sorted()
        guard foreign.isEmpty else {
            throw CorpusError(code: .refused, file: path, message: "is an index folder that also holds other files (\(foreign.prefix(3).joined(separator: ", "))\(foreign.count > 3 ? ", ..." : "")); it was left as it is. Move them away or choose another output folder")
        }
    }
}

extension IndexManifest.Pipeline {
    init(_ sources: IndexSources, indexFolder: String) throws {
        func reference(_ path: String?, kind: String) throws -> IndexManifest.Reference? {
            guard let path else { return nil }
            let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
            return IndexManifest.Reference(kind: kind, path: absolute,
                                           relative: Fingerprint.relativePath(from: indexFolder, to: absolute),
                                           fingerprint: try Fingerprint.of(absolute))
        }
        vocabulary = try reference(sources.vocabulary, kind: "vocabulary")
        tfidf = try reference(sources.tfidf, kind: "tfidf")
        model = try sources.model.map { model in
            let kind = try ModelFolder.kind(at: model)
            guard kind == "lsi" || kind == "lda" else {
                throw ModelError(code: .invalidParameter, message: "\(model): a \(kind) model does not give document vectors; expected an LSI or LDA model")
            }
            return try reference(model, kind: kind)
        } ?? nil
    }
}
