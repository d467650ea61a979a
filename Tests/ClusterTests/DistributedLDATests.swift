import Foundation
import Latent
import TestSupport
import Testing

/// LDA on a cluster of `latent worker` processes: the same model, bit for bit, as in-process,
/// also when a worker dies or joins mid-run (design §6).
@Suite("distributed LDA", .serialized, .timeLimit(.minutes(5)))
struct DistributedLDATests {
    static let planted = PlantedTopics(terms: 300, documents: 600, topics: 4, termsPerTopic: 30, seed: 5)
    /// alpha `auto`, which gensim refuses in its distributed modes; 2 passes of 6 batches.
    static let parameters = LDAParameters(topics: 4, chunkSize: 100, passes: 2, alpha: .auto, evalEvery: 3, seed: 4)

    /// alpha fixed: the E-step of each batch that is not evaluated is known, but for the
    /// statistics of the batch before, while that batch runs (`FollowingReduction`).
    static let fixedAlpha = LDAParameters(topics: 4, chunkSize: 100, passes: 2, alpha: .asymmetric, evalEvery: 3, seed: 4)

    static func inProcess(_ parameters: LDAParameters = parameters) async throws -> LDAModel {
        try await LDAModel(corpus: planted.corpus, termCount: planted.terms, parameters: parameters,
                           executor: InProcessExecutor(threads: 2))
    }

    static func distributed(_ cluster: TestCluster, log: LogCapture,
                            parameters: LDAParameters = parameters) -> Task<LDAModel, any Error> {
        let executor = cluster.executor(log: log)
        return Task {
            try await LDAModel(corpus: planted.corpus, termCount: planted.terms, parameters: parameters, executor: executor)
        }
    }

    @Test("with alpha fixed a stage starts ahead of the merged state of the stage before, and gets its jobs once that state is appended; a worker joining then rebuilds those stages too; the model is the in-process one, bit for bit")
    func stagesStartAhead() async throws {
        let cluster = TestCluster()
        defer { cluster.stop() }
        try cluster.startDispatcher()
        // Jobs slow enough that the client starts each next stage before the stage before ends.
        try cluster.startWorker(expectedID: 1, jobDelayMilliseconds: 150)
        let log = LogCapture()
        let training = Self.distributed(cluster, log: log, parameters: Self.fixedAlpha)
        let dispatcher = try #require(cluster.dispatcher)
        try dispatcher.waitFor("started ahead: its merged state is appended when it ends")
        try cluster.startWorker(expectedID: 2)
        let model = try await training.value
        let local = try await Self.inProcess(Self.fixedAlpha)
        #expect(model.lambda == local.lambda && model.alpha == local.alpha)
        let output = dispatcher.output
        #expect(output.contains("the change ending with stage 3's merged state"), "\(output)")
        #expect(output.contains("worker #2 finished job #"), "\(output)")
        // An evaluated batch (every third, and each pass's last) is not known ahead: its stage
        // carries E[ln beta], whole.
        let started = output.split(separator: "\n").filter { $0.contains(": LDA E-step (") }
        #expect(started.contains { $0.contains("stage 3: ") && !$0.contains("ahead") }, "\(output)")
        #expect(started.contains { $0.contains("stage 4: ") && $0.contains("started ahead") }, "\(output)")
    }

    @Test("two workers give the model of an in-process run, bit for bit (alpha auto included)")
    func twoWorkers() async throws {
        let cluster = TestCluster()
        defer { cluster.stop() }
        try cluster.startDispatcher()
        try cluster.startWorker(expectedID: 1)
        try cluster.startWorker(expectedID: 2)
        let log = LogCapture()
        let model = try await Self.distributed(cluster, log: log).value
        let local = try await Self.inProcess()
        #expect(model.lambda == local.lambda && model.alpha == local.alpha)
        #expect(log.text.contains("using distributed version with 2 workers"), "\(log.text)")
        let dispatcher = try #require(cluster.dispatcher).output
        #expect(dispatcher.contains("worker #1 finished job") && dispatcher.contains("worker #2 finished job"), "\(dispatcher)")
        #expect(dispatcher.contains("LDA E-step"), "\(dispatcher)")
        // After the first stage the topics travel as the M-step since the stage before, whose
        // statistics, just merged, the dispatcher appends: the client sends them no more.
        #expect(dispatcher.contains(", a change of stage 11"), "\(dispatcher)")
        #expect(dispatcher.contains(", a change of stage 2 ending with its merged state)"), "\(dispatcher)")
    }

    @Test("one worker of one thread: a batch's 16 chunks go as two blocks of 8, each merged on the worker as the tree merges it, and the pass's short last batch (3 chunks) as blocks of 2 and 1; a stage started ahead is rebuilt as soon as the worker's last job of the stage before is computed; the model is the in-process one, bit for bit")
    func blocks() async throws {
        // 600 documents in batches of 512: 16 jobs of 32 documents, then 88 documents in 3.
        let parameters = LDAParameters(topics: 4, chunkSize: 512, passes: 2, alpha: .auto, evalEvery: 1, seed: 4)
        let cluster = TestCluster()
        defer { cluster.stop() }
        try cluster.startDispatcher()
        // Jobs of 0.2 s at least: the client has started the next stage ahead long before the
        // worker's last job of a stage is computed and asks for it.
        let worker = try cluster.startWorker(expectedID: 1, jobDelayMilliseconds: 200, arguments: ["--log-level", "debug"])
        let log = LogCapture()
        let model = try await Self.distributed(cluster, log: log, parameters: parameters).value
        let local = try await Self.inProcess(parameters)
        #expect(model.lambda == local.lambda && model.alpha == local.alpha)
        let output = try #require(cluster.dispatcher).output
        // The worker sent every state of each stage: it merges them itself for the next change.
        #expect(output.contains("the change's beginning to worker #1, which merges its own 2 states of stage 1"), "\(output)")
        let finished = output.split(separator: "\n").filter { $0.contains("finished job #") }
        // Two passes of two batches: 2 x (2 blocks + 2), and no job of one chunk but the last batches' third.
        #expect(finished.count == 8, "\(finished)")
        #expect(finished.filter { $0.contains("(chunks 0 to 7, 256 documents)") }.count == 2, "\(finished)")
        #expect(finished.filter { $0.contains("(chunks 8 to 15, 256 documents)") }.count == 2, "\(finished)")
        #expect(finished.filter { $0.contains("(chunks 16 to 17, 64 documents)") }.count == 2, "\(finished)")
        #expect(finished.filter { $0.contains("(chunk 18, 24 documents)") }.count == 2, "\(finished)")

        // alpha fixed: a stage started ahead sends its first block before the model asks for
        // it; whichever way each stage starts, the same bits.
        let fixed = LDAParameters(topics: 4, chunkSize: 512, passes: 2, alpha: .asymmetric, evalEvery: 0, seed: 4)
        let fixedModel = try await Self.distributed(cluster, log: LogCapture(), parameters: fixed).value
        let fixedLocal = try await Self.inProcess(fixed)
        #expect(fixedModel.lambda == fixedLocal.lambda && fixedModel.alpha == fixedLocal.alpha)
        // The second pass's second stage was started ahead (the first pass's starts when the
        // first is merged): asked for, and rebuilt from the worker's own states, right after
        // the worker's last job of the stage before, while that job's state was on its way.
        let ahead = worker.output.split(separator: "\n").filter { $0.contains("stage 4: parameters fetched ahead") }
        #expect(ahead.count == 1, "\(worker.output.suffix(6000))\n\(cluster.dispatcher?.output.suffix(12000) ?? "")")
    }

    @Test("shared storage: the workers read the training documents of a file whose last ones are held out; the in-process model, bit for bit")
    func sharedStorage() async throws {
        let directory = try TemporaryDirectory()
        let cluster = TestCluster()
        defer { cluster.stop() }
        try cluster.startDispatcher()
        try cluster.startWorker(expectedID: 1)
        try cluster.startWorker(expectedID: 2)
        let training = 0..<500
        let local = try await LDAModel(corpus: DocumentRangeCorpus(Self.planted.corpus, documents: training),
                                       termCount: Self.planted.terms, parameters: Self.parameters,
                                       executor: InProcessExecutor(threads: 2))
        for name in ["c.lbc", "c.mm"] {
            let path = directory.file(name)
            try CorpusFile.write(Self.planted.corpus, to: path, termCount: Self.planted.terms)
            let log = LogCapture()
            var executor = cluster.executor(log: log)
            executor.sharedStorage = true
            let model = try await Self.trainedOnPart(try CorpusFile.open(path), documents: training, executor: executor)
            #expect(model.lambda == local.lambda && model.alpha == local.alpha, "\(name)")
            #expect(log.text.contains("dispatched documents up to #500 (read by the workers from \(path))"), "\(log.text)")
            #expect(!log.text.contains("cannot be read by range"), "\(log.text)")
        }
    }

    /// A model trained on documents `range` of `file`, as `latent lda --holdout` does.
    static func trainedOnPart<C: Corpus>(_ file: C, documents range: Range<Int>, executor: ClusterExecutor) async throws -> LDAModel {
        try await LDAModel(corpus: DocumentRangeCorpus(file, documents: range), termCount: planted.terms,
                           parameters: parameters, executor: executor)
    }

    @Test("a worker killed with SIGKILL mid-run: its jobs are requeued and the model is the in-process one, bit for bit")
    func workerKilled() async throws {
        let cluster = TestCluster()
        defer { cluster.stop() }
        try cluster.startDispatcher(arguments: ["--heartbeat-timeout", "1.5"])
        let doomed = try cluster.startWorker(expectedID: 1, jobDelayMilliseconds: 5000, arguments: ["--log-level", "debug"])
        try cluster.startWorker(expectedID: 2)
        let log = LogCapture()
        let training = Self.distributed(cluster, log: log)
        _ = try doomed.waitFor(": received (")
        doomed.kill()
        let model = try await training.value
        let dispatcher = try #require(cluster.dispatcher).output
        #expect(dispatcher.contains("worker #1 (test-1) closed its connection: dropped"), "\(dispatcher)")
        #expect(log.text.contains("were requeued"), "\(log.text)")
        let local = try await Self.inProcess()
        #expect(model.lambda == local.lambda && model.alpha == local.alpha)
    }

    @Test("a worker started mid-run receives jobs, and the model is the in-process one, bit for bit")
    func workerJoins() async throws {
        let cluster = TestCluster()
        defer { cluster.stop() }
        try cluster.startDispatcher()
        try cluster.startWorker(expectedID: 1, jobDelayMilliseconds: 200)
        let log = LogCapture()
        let training = Self.distributed(cluster, log: log)
        let dispatcher = try #require(cluster.dispatcher)
        // Joining once stages are sent as changes: the new worker rebuilds the topics from the
        // last whole parameters and every change since.
        try dispatcher.waitFor(", a change of stage 2")
        try cluster.startWorker(expectedID: 2)
        try dispatcher.waitFor("worker #2 finished job #")
        let model = try await training.value
        let local = try await Self.inProcess()
        #expect(model.lambda == local.lambda && model.alpha == local.alpha)
    }
}
