import Foundation
import Latent
@testable import LatentCluster
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The training engine's scopes on a cluster built from the library: a computation defined
/// outside the models layer (in the tests), registered by the program that starts the
/// dispatcher and workers; sessions of one reduction and of a thousand.
@Suite("the engine on a cluster", .serialized, .timeLimit(.minutes(6)))
struct EngineOnClusterTests {
    /// Documents with weights 1, 2, ..., so every sum is exact.
    static func corpus(documents: Int) -> InMemoryCorpus {
        InMemoryCorpus((0..<documents).map { SparseDocument(uncheckedTermIDs: [Int32($0 % 7)], weights: [Double($0 + 1)]) },
                       termCount: 7)
    }

    @Test("a computation defined in the tests runs in-process and on a dispatcher with two workers, with the same result")
    func externalComputation() async throws {
        let cluster = InProcessCluster(registry: WeightSum.registry)
        defer { cluster.stop() }
        _ = try await cluster.startDispatcher()
        try await cluster.startWorker(id: 1)
        try await cluster.startWorker(id: 2)
        let corpus = Self.corpus(documents: 1000)
        let computation = WeightSum(termBound: 7, scale: 0.5)
        let log = LogCapture()
        let distributed = try await cluster.executor(log: log).run(computation, over: corpus, chunkSize: 37)
        let local = try await InProcessExecutor(threads: 2).run(computation, over: corpus, chunkSize: 37)
        #expect(distributed == local)
        #expect(local == WeightSum.Totals(documents: 1000, sum: 0.5 * 500_500, firstChunk: 0, lastChunk: 27))
        #expect(log.text.contains("using distributed version with 2 workers"), "\(log.text)")
        let dispatcher = cluster.dispatcherLog.text
        #expect(dispatcher.contains("worker #1 finished job") && dispatcher.contains("worker #2 finished job"), "\(dispatcher)")
        // A kind the cluster's registry does not hold is refused before anything is sent.
        var narrow = ComputationRegistry()
        LSIModel.registerComputations(in: &narrow)
        var executor = cluster.executor(log: log)
        executor.registry = narrow
        await #expect { try await executor.run(computation, over: corpus, chunkSize: 37) } throws: {
            "\($0)".contains("test.weight-sum") && "\($0)".contains("is not in this program's registry")
        }
    }

    @Test("one session of 1,000 stages (a reduction per chunk) completes; the dispatcher's memory stays bounded")
    func aThousandStages() async throws {
        // The dispatcher and the workers are processes of their own (the tests' fixture, with
        // the tests' computations registered), so the dispatcher's memory can be measured.
        let fixture = (TestCluster.binary as NSString).deletingLastPathComponent + "/latent-cluster-fixture"
        let dispatcher = try ChildProcess("dispatcher", fixture, ["dispatcher"])
        defer { dispatcher.stop() }
        let listening = try dispatcher.waitFor("fixture listening on port ")
        let port = try #require(listening.split(separator: "\n").first { $0.hasPrefix("fixture listening on port ") }
            .flatMap { Int($0.dropFirst("fixture listening on port ".count)) })
        let address = ClusterAddress(host: "127.0.0.1", port: port)
        var workers: [ChildProcess] = []
        defer { for worker in workers { worker.stop() } }
        for number in 1...2 {
            workers.append(try ChildProcess("worker \(number)", fixture, ["worker", address.description, "fixture-\(number)"]))
            try dispatcher.waitFor("worker #\(number) registered")
        }
        let stages = 1000
        let corpus = Self.corpus(documents: stages)
        let log = LogCapture()
        let executor = ClusterExecutor(execution: .distributed, dispatcher: address, local: InProcessExecutor(threads: 1),
                                       logger: log.logger, registry: WeightSum.registry)
        let description = SessionDescription(kind: "test", summary: "\(stages) reductions of one chunk")
        let dispatcherID = dispatcher.processIdentifier
        let memory = try await executor.session(description) { session in
            try await session.pass(over: corpus, chunkSize: 1, progress: nil) { pass in
                var residentAt: [Int: Int] = [:]
                var reduced = 0
                while let totals = try await pass.reduce(WeightSum(termBound: 7, scale: 1), nextChunks: 1) {
                    // Each reduction is exactly its chunk: document `reduced`, weight reduced + 1.
                    guard totals == WeightSum.Totals(documents: 1, sum: Double(reduced + 1), firstChunk: reduced, lastChunk: reduced) else {
                        Issue.record("reduction \(reduced): \(totals)")
                        break
                    }
                    reduced += 1
                    if reduced == 500 || reduced == stages { residentAt[reduced] = Self.residentBytes(of: dispatcherID) }
                }
                #expect(reduced == stages)
                let status = try await ClusterStatus.fetch(from: address, security: ClusterSecurity())
                #expect(status.stages == UInt64(stages) && status.stagesHeld == 0, "\(status.stages) stages, \(status.stagesHeld) held")
                return residentAt
            }
        }
        let transcript = try dispatcher.waitFor("(\(stages) documents processed in")
        #expect(transcript.contains("run #1, stage \(stages) complete"), "\(transcript.suffix(2000))")
        // Memory: no stage is held once complete (above), and the 500 stages after the 500th
        // leave the dispatcher within 512 KB. (Measured: it grows by about 600 KB over the
        // first 500 stages, as its allocator settles, and by about 25 KB over the next 500. It
        // grew by 7 MB over 4,000 stages, 1.75 KB a stage, while each stage's call had a
        // 10-minute timeout: a cancelled timer is freed only at its deadline. A stage record
        // with its merger, parameters and bookkeeping kept per stage would add several
        // kilobytes a stage.)
        let growth = (memory[stages] ?? 0) - (memory[500] ?? 0)
        print("the dispatcher's resident memory: \((memory[500] ?? 0) >> 10) KiB after 500 stages, \((memory[stages] ?? 0) >> 10) KiB after \(stages)")
        #expect(memory[500] ?? 0 > 0 && growth < 1 << 19, "the dispatcher's resident memory grew by \(growth >> 10) KiB over 500 stages")
    }

    /// Resident memory of process `pid`, from /proc.
    static func residentBytes(of pid: Int32) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
    }

}
