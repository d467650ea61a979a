import Foundation
import Latent
import TestSupport
import Testing

/// Distributed training with real processes on loopback: the same models as in-process,
/// and runs that survive workers dying or joining and a dispatcher that dies.
@Suite("distributed LSI", .serialized, .timeLimit(.minutes(5)))
struct DistributedLSITests {
    static let planted = PlantedCorpus(terms: 2000, documents: 5000, topics: 12, seed: 7)

    /// The serial model of the planted corpus, the reference for the distributed ones.
    static func serialModel(_ algorithm: LSIAlgorithm, chunkSize: Int) async throws -> LSIModel {
        try await LSIModel(corpus: planted.corpus, termCount: planted.terms, topics: 10, chunkSize: chunkSize,
                           algorithm: algorithm, executor: InProcessExecutor(threads: 1))
    }

    static func similarity(_ a: LSIModel, _ b: LSIModel) -> Double {
        subspaceSimilarity(a.leftSingularVectors, b.leftSingularVectors, k: 10)
    }

    @Test("the 9-document and 1,000,000-document examples print the same topics distributed as serially")
    func examples() throws {
        let cluster = TestCluster()
        defer { cluster.stop() }
        try cluster.startDispatcher()
        try cluster.startWorker(expectedID: 1)
        try cluster.startWorker(expectedID: 2)
        let arguments = ["example", "--documents", "1000000", "--chunk-size", "20000"]
        let serial = try runProcess(TestCluster.binary, arguments + ["--distributed", "off"])
        let distributed = try runProcess(TestCluster.binary, arguments + ["--distributed", "required", "--dispatcher", cluster.address])
        #expect(serial.status == 0 && distributed.status == 0, "\(serial.error)\n\(distributed.error)")
        let topics = { (output: String) in output.split(separator: "\n").filter { $0.hasPrefix("topic #") } }
        // Two LSI topics for each of the two corpora, then the two LDA topics (bit-identical too).
        #expect(topics(serial.output).count == 6)
        #expect(topics(distributed.output) == topics(serial.output), "\(distributed.output)\n\(serial.output)")
        #expect(distributed.error.contains("using distributed version with 2 workers"), "\(distributed.error)")
        #expect(distributed.output.contains("cluster at \(cluster.address), 2 workers)"), "\(distributed.output)")
        #expect(serial.output.contains("in-process, "), "\(serial.output)")
        #expect(distributed.error.contains("dispatched documents up to #1000000"), "\(distributed.error)")
        let log = cluster.dispatcher?.output ?? ""
        #expect(log.contains("worker #1 finished job #") && log.contains("worker #2 finished job #"), "\(log)")
        #expect(log.contains("complete: merged the states of 50 jobs from 2 workers"), "\(log)")
    }

    @Test("on a planted corpus the distributed subspace is the serial one, one-pass and multi-pass")
    func plantedSubspace() async throws {
        let cluster = TestCluster()
        defer { cluster.stop() }
        try cluster.startDispatcher()
        try cluster.startWorker(expectedID: 1)
        try cluster.startWorker(expectedID: 2)
        for algorithm in LSIAlgorithm.allCases {
            let log = LogCapture()
            let serial = try await Self.serialModel(algorithm, chunkSize: 500)
            let distributed = try await LSIModel(corpus: Self.planted.corpus, termCount: Self.planted.terms, topics: 10,
                                                 chunkSize: 500, algorithm: algorithm, executor: cluster.executor(log: log))
            let similarity = Self.similarity(serial, distributed)
            #expect(similarity >= 0.999, "\(algorithm): subspace similarity \(similarity)")
            #expect(worstRelativeError(serial.singularValues, distributed.singularValues, k: 10) < 1e-6)
            #expect(distributed.documentsProcessed == 5000)
            #expect(log.text.contains("using distributed version with 2 workers"), "\(log.text)")
        }
        // Multi-pass: a sketch, two power iterations and a final pass, each a stage of one run.
        let log = cluster.dispatcher?.output ?? ""
        #expect(log.contains("stage 4: LSI projection onto the range"), "\(log)")
    }

    @Test("a worker killed with SIGKILL mid-run: its jobs are requeued, named in the log, and the model is right")
    func workerKilled() async throws {
        let cluster = TestCluster()
        defer { cluster.stop() }
        try cluster.startDispatcher(arguments: ["--heartbeat-timeout", "1.5"])
        // Slow jobs (fault injection), so that worker #1 still holds its lease when killed.
        let doomed = try cluster.startWorker(expectedID: 1, jobDelayMilliseconds: 5000, arguments: ["--log-level", "debug"])
        try cluster.startWorker(expectedID: 2, jobDelayMilliseconds: 100)
        let log = LogCapture()
        let executor = cluster.executor(log: log)
        let training = Task {
            try await LSIModel(corpus: Self.planted.corpus, termCount: Self.planted.terms, topics: 10, chunkSize: 250,
                               executor: executor)
        }
        // Killed once it holds a job it has received (its lease, not a failed send, is what
        // the dispatcher must notice).
        let transcript = try doomed.waitFor(": received (")
        doomed.kill()
        let model = try await training.value
        let received = transcript.split(separator: "\n").first { $0.contains(": received (") }
        let job = received.flatMap { line in line.range(of: "job #").map { line[$0.upperBound...].prefix { $0.isNumber } } }
        let dispatcherLog = try #require(cluster.dispatcher).output
        // The kernel closes a killed process's connections: the worker is dropped at once.
        #expect(dispatcherLog.contains("worker #1 (test-1) closed its connection: dropped"), "\(dispatcherLog)")
        #expect(job.map { dispatcherLog.contains("requeued job #\($0)") || dispatcherLog.contains(", #\($0)") } == true,
                "job \(job ?? "?") not named as requeued:\n\(dispatcherLog)")
        #expect(log.text.contains("were requeued"), "\(log.text)")
        let serial = try await Self.serialModel(.onePass, chunkSize: 250)
        #expect(Self.similarity(serial, model) >= 0.999)
        #expect(model.documentsProcessed == 5000)
    }

    @Test("a worker started mid-run receives jobs")
    func workerJoins() async throws {
        let cluster = TestCluster()
        defer { cluster.stop() }
        try cluster.startDispatcher()
        try cluster.startWorker(expectedID: 1, jobDelayMilliseconds: 300)
        let log = LogCapture()
        let executor = cluster.executor(log: log)
        let training = Task {
            try await LSIModel(corpus: Self.planted.corpus, termCount: Self.planted.terms, topics: 10, chunkSize: 250,
                               executor: executor)
        }
        let dispatcher = try #require(cluster.dispatcher)
        try dispatcher.waitFor("worker #1 finished job #")
        try cluster.startWorker(expectedID: 2)
        try dispatcher.waitFor("worker #2 finished job #")
        let model = try await training.value
        #expect(log.text.contains("using distributed version with 1 worker "), "\(log.text)")
        let serial = try await Self.serialModel(.onePass, chunkSize: 250)
        #expect(Self.similarity(serial, model) >= 0.999)
    }

    @Test("SIGKILL of the dispatcher with no grace: the client fails clearly within 10 s; after a restart workers re-register and a run succeeds")
    func dispatcherKilled() async throws {
        let cluster = TestCluster()
        defer { cluster.stop() }
        let first = try cluster.startDispatcher()
        let worker = try cluster.startWorker(expectedID: 1, jobDelayMilliseconds: 1000)
        let log = LogCapture()
        var executor = cluster.executor(log: log)
        executor.grace = .zero
        let training = Task {
            try await LSIModel(corpus: Self.planted.corpus, termCount: Self.planted.terms, topics: 10, chunkSize: 250,
                               executor: executor)
        }
        try first.waitFor("leased job #")
        first.kill()
        let killed = Date()
        do {
            _ = try await training.value
            Issue.record("the run succeeded without its dispatcher")
        } catch let error as ClusterError {
            #expect(error.message.contains("lost the dispatcher at \(cluster.address)") || error.message.contains("ended the run"),
                    "\(error.message)")
        }
        let seconds = Date().timeIntervalSince(killed)
        #expect(seconds < 10, "the client took \(seconds) s to fail")

        let port = cluster.port
        try cluster.startDispatcher(port: port)
        try worker.waitFor("registered with the dispatcher", count: 2)
        let model = try await LSIModel(corpus: Self.planted.corpus, termCount: Self.planted.terms, topics: 10,
                                       chunkSize: 1000, executor: cluster.executor(log: LogCapture()))
        let serial = try await Self.serialModel(.onePass, chunkSize: 1000)
        #expect(Self.similarity(serial, model) >= 0.999)
    }

    @Test("shared-storage mode: workers read their ranges from the binary file and the indexed Matrix Market file")
    func sharedStorage() async throws {
        let temporary = try TemporaryDirectory()
        let directory = temporary.path
        let cluster = TestCluster()
        defer { cluster.stop() }
        try cluster.startDispatcher()
        try cluster.startWorker(expectedID: 1)
        try cluster.startWorker(expectedID: 2)
        let serial = try await Self.serialModel(.onePass, chunkSize: 500)
        for name in ["planted.lbc", "planted.mm"] {
            let path = directory + "/" + name
            try CorpusFile.write(Self.planted.corpus, to: path, termCount: Self.planted.terms)
            let log = LogCapture()
            var executor = cluster.executor(log: log)
            executor.sharedStorage = true
            let corpus = try CorpusFile.open(path)
            let model = try await LSIModel(corpus: corpus, termCount: Self.planted.terms, topics: 10, chunkSize: 500,
                                           executor: executor)
            #expect(Self.similarity(serial, model) >= 0.999, "\(name)")
            #expect(log.text.contains("dispatched documents up to #5000 (read by the workers from \(path))"), "\(log.text)")
        }

        // A file the workers cannot read fails the run, naming the file, rather than hanging.
        let path = directory + "/gone.lbc"
        try CorpusFile.write(Self.planted.corpus, to: path, termCount: Self.planted.terms)
        let corpus = try BinaryCorpus(path: path)
        try FileManager.default.removeItem(atPath: path)
        var executor = cluster.executor(log: LogCapture())
        executor.sharedStorage = true
        do {
            _ = try await LSIModel(corpus: corpus, termCount: Self.planted.terms, topics: 10, chunkSize: 500, executor: executor)
            Issue.record("the run succeeded without its file")
        } catch let error as ClusterError {
            #expect(error.message.contains("failed on worker #") && error.message.contains(path), "\(error.message)")
        }
    }
}
