import Foundation
import LatentCorpus
import LatentLinearAlgebra
@testable import LatentModels
import TestSupport
import Testing

/// Checkpoints of training runs (issue 15): the merge tree's finished start, and runs
/// resumed from a checkpoint folder giving the uninterrupted run's model bit for bit.
@Suite("training checkpoints", .serialized)
struct CheckpointTests {
    /// A merge that shows its tree: any other grouping or order gives another string.
    struct Bracketing: ChunkedComputation {
        var name: String { "bracketing" }
        func process(_ chunk: SparseChunk, index: Int) throws -> String { "\(index)" }
        func merge(_ earlier: String, _ later: String) throws -> String { "(\(earlier) \(later))" }
    }

    /// Places leaves `order` into `tree`, making each merge it asks for.
    static func place(_ order: some Sequence<Int>, into tree: inout MergeTree<String>) {
        for leaf in order {
            var pending = MergeTree.leaf(leaf, "\(leaf)")
            while let merge = tree.place(pending) {
                pending = MergeTree.parent(of: merge, merged: "(\(merge.earlier) \(merge.later))")
            }
        }
    }

    static func drained(_ tree: inout MergeTree<String>) -> String {
        tree.drain().reduce(nil) { (merged: String?, state) in merged.map { "(\($0) \(state))" } ?? state } ?? ""
    }

    @Test("a tree resumed from the finished start of another, taken at any moment of any order, makes the same merges")
    func prefixResume() throws {
        var generator = SeededGenerator(seed: 15)
        for leaves in [1, 2, 3, 7, 8, 13, 64, 100] {
            var reference = MergeTree<String>()
            Self.place(0..<leaves, into: &reference)
            let expected = Self.drained(&reference)
            for _ in 0..<20 {
                // Leaves finish roughly in order, as a pass's chunks do on a few threads.
                var order = Array(0..<leaves)
                for index in order.indices.dropLast() where Bool.random(using: &generator) {
                    order.swapAt(index, min(leaves - 1, index + Int.random(in: 1...3, using: &generator)))
                }
                let cut = Int.random(in: 0...leaves, using: &generator)
                var first = MergeTree<String>()
                Self.place(order.prefix(cut), into: &first)
                let prefix = first.prefix
                let done = Set(order.prefix(cut))
                #expect((0..<prefix.chunks).allSatisfy(done.contains), "the prefix covers only finished leaves")
                var resumed = try MergeTree<String>(resuming: prefix)
                Self.place(order.filter { $0 >= prefix.chunks }, into: &resumed)
                #expect(Self.drained(&resumed) == expected, "\(leaves) leaves, order \(order), cut \(cut)")
            }
        }
    }

    @Test("the finished start taken while a pair is being merged holds one of the pair at most, and a tree resumed from it merges the pair itself")
    func prefixDuringMerge() throws {
        for (leaves, cut) in [(2, 1), (4, 3), (8, 7), (13, 11)] {
            var reference = MergeTree<String>()
            Self.place(0..<leaves, into: &reference)
            let expected = Self.drained(&reference)
            // Leaves 0..<cut placed, then leaf `cut`, whose sibling waits: the merges it starts
            // are in the caller's hands when the prefix is taken.
            var tree = MergeTree<String>()
            Self.place(0..<cut, into: &tree)
            let started = tree.place(MergeTree.leaf(cut, "\(cut)"))
            let merge = try #require(started)
            let prefix = tree.prefix
            #expect(prefix.chunks <= cut && !prefix.blocks.contains { $0.level == 0 && $0.index == cut },
                    "\(leaves) leaves: the leaf being merged is not in the prefix: \(prefix.blocks.map { ($0.level, $0.index) })")
            var resumed = try MergeTree<String>(resuming: prefix)
            Self.place(prefix.chunks..<leaves, into: &resumed)
            // The same merges, made as the leaves are placed: the drain has only the aligned
            // blocks of the leaf count left, as the reference's has.
            let left = resumed.drain()
            #expect(left.count == leaves.nonzeroBitCount, "\(leaves) leaves: \(left)")
            #expect(left.reduce(nil) { (merged: String?, state) in merged.map { "(\($0) \(state))" } ?? state } == expected)
            // The interrupted tree finishes the merge it had started and agrees too.
            var pending = MergeTree.parent(of: merge, merged: "(\(merge.earlier) \(merge.later))")
            while let next = tree.place(pending) { pending = MergeTree.parent(of: next, merged: "(\(next.earlier) \(next.later))") }
            Self.place((cut + 1)..<leaves, into: &tree)
            #expect(Self.drained(&tree) == expected)
        }
    }

    @Test("a resumed tree refuses blocks that do not cover its first leaves in order")
    func prefixValidation() {
        let gap = ReductionPrefix(chunks: 3, blocks: [.init(level: 1, index: 0, state: "(0 1)"), .init(level: 0, index: 3, state: "3")])
        #expect(throws: ModelError.self) { try MergeTree<String>(resuming: gap) }
        let miscounted = ReductionPrefix(chunks: 4, blocks: [.init(level: 1, index: 0, state: "(0 1)")])
        #expect(throws: ModelError.self) { try MergeTree<String>(resuming: miscounted) }
    }

    /// The planted corpus, failing with an I/O error at document `failAt`: a run
    /// interrupted in the middle of its reduction.
    struct FailingCorpus: Corpus {
        let base: InMemoryCorpus
        let failAt: Int
        var documentCount: Int? { base.documentCount }
        var termCount: Int? { base.termCount }
        var nonZeroCount: Int? { nil }

        func makeReader() throws -> Reader { Reader(base: base.makeReader(), failAt: failAt) }

        struct Reader: DocumentReader {
            var base: InMemoryCorpus.Reader
            let failAt: Int
            var position = 0

            mutating func appendNext(to chunk: inout SparseChunk) throws -> Bool {
                guard position < failAt else { throw CorpusError(code: .io, file: "failing", message: "interrupted") }
                position += 1
                return base.appendNext(to: &chunk)
            }
        }
    }

    static func model(_ corpus: some Corpus, executor: any ChunkExecutor, algorithm: LSIAlgorithm = .onePass) async throws -> LSIModel {
        let parameters = LSIParameters(topics: 8, chunkSize: 250, algorithm: algorithm)
        return try await LSIModel(corpus: corpus, termCount: PlantedCorpus.shared.terms, parameters: parameters, executor: executor)
    }

    static func bits(_ model: LSIModel, in directory: TemporaryDirectory, _ name: String) throws -> [Data] {
        try model.save(to: directory.file(name))
        return try ["u.npy", "s.npy"].map { try Data(contentsOf: URL(fileURLWithPath: directory.file(name) + "/" + $0)) }
    }

    @Test("one-pass LSI interrupted in its only reduction resumes from the saved start and gives the uninterrupted model, bit for bit")
    func resumeWithinReduction() async throws {
        let threads = 2
        let directory = try TemporaryDirectory()
        let corpus = PlantedCorpus.shared.corpus
        let local = InProcessExecutor(threads: threads)
        let expected = try Self.bits(try await Self.model(corpus, executor: local), in: directory, "reference")

        let folder = directory.file("checkpoint")
        let first = try TrainingCheckpoint(directory: folder, resume: false, interval: .zero)
        await #expect(throws: CorpusError.self) {
            _ = try await Self.model(FailingCorpus(base: corpus, failAt: 3_100), executor: CheckpointingExecutor(local, checkpoint: first))
        }
        let saved = try #require(first.partial(session: 0, number: 0))
        #expect(saved.chunks > 0 && saved.chunks <= 12, "the first \(saved.chunks) chunks were saved")
        #expect(first.reductionCount == 0)

        // Without --resume the folder is refused; with it, the run continues.
        #expect(throws: ModelError.self) { try TrainingCheckpoint(directory: folder, resume: false) }
        let second = try TrainingCheckpoint(directory: folder, resume: true, interval: .seconds(3600))
        let resumed = try await Self.model(corpus, executor: CheckpointingExecutor(local, checkpoint: second))
        #expect(try Self.bits(resumed, in: directory, "resumed") == expected)
        #expect(second.reductionCount == 1 && second.partial(session: 0, number: 0) == nil)
        second.remove()
        #expect(!FileManager.default.fileExists(atPath: folder))
    }

    @Test("multi-pass LSI interrupted in a later pass replays the passes done and gives the uninterrupted model, bit for bit")
    func resumeAfterReductions() async throws {
        let directory = try TemporaryDirectory()
        let corpus = PlantedCorpus.shared.corpus
        let local = InProcessExecutor(threads: 2)
        let expected = try Self.bits(try await Self.model(corpus, executor: local, algorithm: .multiPass), in: directory, "reference")

        let folder = directory.file("checkpoint")
        // The second pass of the run fails: a corpus that fails on its second reading.
        let counting = CountingCorpus(base: corpus, failOnReading: 2)
        let first = try TrainingCheckpoint(directory: folder, resume: false, interval: .seconds(3600))
        await #expect(throws: CorpusError.self) {
            _ = try await Self.model(counting, executor: CheckpointingExecutor(local, checkpoint: first), algorithm: .multiPass)
        }
        #expect(first.reductionCount == 1)

        let second = try TrainingCheckpoint(directory: folder, resume: true)
        let replay = CountingCorpus(base: corpus, failOnReading: nil)
        let resumed = try await Self.model(replay, executor: CheckpointingExecutor(local, checkpoint: second), algorithm: .multiPass)
        #expect(try Self.bits(resumed, in: directory, "resumed") == expected)
        // The replayed pass read nothing: one reading fewer than the passes.
        let passes = try await Self.countReadings(algorithm: .multiPass)
        #expect(replay.readings == passes - 1, "\(replay.readings) readings, \(passes) passes")
    }

    @Test("LDA (alpha auto, an M-step per reduction) interrupted in its second pass resumes from its checkpoint and gives the uninterrupted λ and α, bit for bit")
    func ldaResume() async throws {
        let directory = try TemporaryDirectory()
        let planted = PlantedTopics(terms: 300, documents: 600, topics: 4, termsPerTopic: 30, seed: 5)
        let parameters = LDAParameters(topics: 4, chunkSize: 100, passes: 3, alpha: .auto, evalEvery: 0, seed: 1)
        let local = InProcessExecutor(threads: 2)
        let expected = try await LDAModel(corpus: planted.corpus, termCount: planted.terms, parameters: parameters, executor: local)

        let folder = directory.file("checkpoint")
        let first = try TrainingCheckpoint(directory: folder, resume: false)
        let failing = CountingCorpus(base: planted.corpus, failOnReading: 2)
        await #expect(throws: CorpusError.self) {
            _ = try await LDAModel(corpus: failing, termCount: planted.terms, parameters: parameters,
                                   executor: CheckpointingExecutor(local, checkpoint: first))
        }
        #expect(first.reductionCount == 6, "one pass of 6 batches was recorded")
        let second = try TrainingCheckpoint(directory: folder, resume: true)
        let resumed = try await LDAModel(corpus: planted.corpus, termCount: planted.terms, parameters: parameters,
                                         executor: CheckpointingExecutor(local, checkpoint: second))
        #expect(resumed.lambda == expected.lambda && resumed.alpha == expected.alpha)
        #expect(resumed.documentsProcessed == expected.documentsProcessed && resumed.updatesDone == expected.updatesDone)
    }

    /// Readings of the corpus an uninterrupted run makes.
    static func countReadings(algorithm: LSIAlgorithm) async throws -> Int {
        let counting = CountingCorpus(base: PlantedCorpus.shared.corpus, failOnReading: nil)
        _ = try await Self.model(counting, executor: InProcessExecutor(threads: 2), algorithm: algorithm)
        return counting.readings
    }

    /// Counts the readers made of a corpus that reads its first document (a pass that reads),
    /// and fails reading number `failOnReading`.
    final class CountingCorpus: Corpus, @unchecked Sendable {
        let base: InMemoryCorpus
        let failOnReading: Int?
        private let lock = NSLock()
        private var made = 0
        var readings: Int { lock.withLock { made } }

        init(base: InMemoryCorpus, failOnReading: Int?) {
            self.base = base
            self.failOnReading = failOnReading
        }

        var documentCount: Int? { base.documentCount }
        var termCount: Int? { base.termCount }
        var nonZeroCount: Int? { nil }

        func makeReader() throws -> Reader {
            let number = lock.withLock {
                made += 1
                return made
            }
            if number == failOnReading { throw CorpusError(code: .io, file: "counting", message: "interrupted") }
            return base.makeReader()
        }

        typealias Reader = InMemoryCorpus.Reader
    }

    @Test("a checkpoint of another run, or with a damaged state, is refused with the reason")
    func refusals() async throws {
        let directory = try TemporaryDirectory()
        let corpus = PlantedCorpus.shared.corpus
        let local = InProcessExecutor(threads: 2)
        let folder = directory.file("checkpoint")
        let first = try TrainingCheckpoint(directory: folder, resume: false)
        _ = try await Self.model(corpus, executor: CheckpointingExecutor(local, checkpoint: first))

        // Other settings: another session.
        let parameters = LSIParameters(topics: 9, chunkSize: 250)
        let other = try TrainingCheckpoint(directory: folder, resume: true)
        await #expect {
            _ = try await LSIModel(corpus: corpus, termCount: PlantedCorpus.shared.terms, parameters: parameters,
                                   executor: CheckpointingExecutor(local, checkpoint: other))
        } throws: { error in
            "\(error)".contains("is of another run")
        }

        // A state file cut short.
        let state = try #require(try FileManager.default.contentsOfDirectory(atPath: folder).first { $0.hasSuffix(".state") })
        let handle = try #require(FileHandle(forWritingAtPath: folder + "/" + state))
        try handle.truncate(atOffset: 100)
        try handle.close()
        let damaged = try TrainingCheckpoint(directory: folder, resume: true)
        await #expect {
            _ = try await Self.model(corpus, executor: CheckpointingExecutor(local, checkpoint: damaged))
        } throws: { error in
            "\(error)".contains(state) && "\(error)".contains("truncated")
        }

        // A file where the folder should be.
        let file = try directory.write("plain", "text")
        #expect(throws: ModelError.self) { try TrainingCheckpoint(directory: file, resume: false) }
    }
}
