import Foundation
import Latent
@testable import LatentCluster
import TestSupport
import Testing

/// The dispatcher's scheduling, driven directly: no processes, no network, no sleeps. Time
/// is whatever instant each call is given.
@Suite("dispatcher state machine")
struct DispatcherCoreTests {
    static let t0 = ContinuousClock.now
    static func at(_ seconds: Double) -> ContinuousClock.Instant { t0 + .milliseconds(Int(seconds * 1000)) }

    /// A computation from a registry lookup, as the dispatcher makes one.
    static func computation() throws -> any RemoteComputation {
        try WeightSum.registry.make(kind: WeightSum.kind, parameters: WeightSum(termBound: 10, scale: 1).parameterBytes())
    }

    /// A core with a 4 s heartbeat timeout, `workers` registered at t0 (one thread each), and
    /// a run open.
    static func started(workers: Int = 2) throws -> (DispatcherCore, run: UInt64) {
        var core = DispatcherCore(epoch: 7, heartbeatTimeout: .seconds(4), logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        for number in 1...max(1, workers) { _ = core.register(name: "w\(number)", threads: 1, peer: "test", now: t0) }
        let run = try core.openRun(client: "client", description: "a test", now: t0)
        return (core, run)
    }

    static func startStage(_ core: inout DispatcherCore, run: UInt64, stage: UInt64, firstChunk: Int = 0,
                           parameters: [UInt8] = [1, 2, 3], base: UInt64 = 0) throws {
        let computation = try base == 0 ? computation()
            : core.chainBase(run: run, stage: stage, base: base, kind: WeightSum.kind, size: parameters.count)
        try core.startStage(run: run, stage: stage, computation: computation, parameters: parameters, baseStage: base,
                            merger: computation.makeMerger(firstChunk: firstChunk), firstChunk: firstChunk)
    }

    /// A computation that takes changes (`ParameterChainTests.Padded`), as the dispatcher makes one.
    static func paddedComputation() throws -> any RemoteComputation {
        typealias Padded = ParameterChainTests.Padded
        var registry = ComputationRegistry()
        registry.register(Padded.self)
        return try registry.make(kind: Padded.kind, parameters: Padded(version: 1, wholeBytes: 100, changeBytes: 10).parameterBytes())
    }

    static func enqueue(_ core: inout DispatcherCore, run: UInt64, stage: UInt64, chunk: Int) throws -> UInt64? {
        try core.enqueue(run: run, stage: stage, chunkIndex: chunk, firstDocument: chunk * 10, documents: 10,
                         payload: [], sharedPath: "")
    }

    @Test("blocks: a job may cover 2^level chunks that are a whole subtree of the stage's tree; a block off its alignment, past the largest level or over chunks submitted is refused; the stage counts chunks, not jobs")
    func blocks() throws {
        var (core, run) = try Self.started()
        try Self.startStage(&core, run: run, stage: 1, firstChunk: 3)
        func enqueue(_ chunk: Int, level: Int) throws(DispatcherCore.Refusal) -> UInt64? {
            try core.enqueue(run: run, stage: 1, chunkIndex: chunk, level: level, leafDocuments: 10,
                             firstDocument: chunk * 10, documents: 10 << level, payload: [], sharedPath: "")
        }
        let block = try #require(try enqueue(3, level: 2))
        #expect(throws: DispatcherCore.Refusal.self) { try enqueue(5, level: 1) }  // chunks 5 and 6 are in the block
        #expect(throws: DispatcherCore.Refusal.self) { try enqueue(8, level: 1) }  // offset 5: not a multiple of 2
        #expect(throws: DispatcherCore.Refusal.self) { try enqueue(3 + (1 << 17), level: 17) }
        let single = try #require(try enqueue(7, level: 0))
        #expect(throws: DispatcherCore.Refusal.self) { try core.endStage(run: run, stage: 1, chunks: 2) }
        #expect(try core.endStage(run: run, stage: 1, chunks: 5) == false)
        let leases = [core.lease(to: 1), core.lease(to: 2)]
        #expect(leases.map { $0?.job.id } == [block, single] && leases[0]?.job.chunks == 4)
        let target = try #require(core.target(run: run, stage: 1, job: block))
        #expect(target.chunkIndex == 3 && target.level == 2 && target.documents == 40)
        let claims = [core.claim(job: block, worker: 1, run: run), core.claim(job: single, worker: 2, run: run)]
        #expect(claims.map(\.claimed) == [true, true] && claims.map(\.lastJobIn) == [false, true])
        let merged = [core.merged(job: block, stage: 1, chunkIndex: 3, chunks: 4, documents: 40, worker: 1, run: run),
                      core.merged(job: single, stage: 1, chunkIndex: 7, chunks: 1, documents: 10, worker: 2, run: run)]
        #expect(merged == [false, true])
        #expect(core.status(now: Self.t0).documentsDone == 50)
    }

    @Test("a lease expires with its worker: the silent worker is dropped and its job goes back to the front of the queue")
    func leaseExpiry() throws {
        var (core, run) = try Self.started()
        try Self.startStage(&core, run: run, stage: 1)
        let first = try #require(try Self.enqueue(&core, run: run, stage: 1, chunk: 0))
        let second = try #require(try Self.enqueue(&core, run: run, stage: 1, chunk: 1))
        #expect(core.lease(to: 1)?.job.id == first)
        #expect(core.lease(to: 2)?.job.id == second)
        let alive = core.heartbeat(worker: 2, epoch: 7, now: Self.at(3))
        #expect(alive)
        #expect(core.sweep(now: Self.at(3.9)).isEmpty)
        let dropped = core.sweep(now: Self.at(5))
        #expect(dropped == [DispatcherCore.Dropped(worker: 1, name: "w1", reason: "missed heartbeats for 5.0 s", requeued: [first])])
        #expect(!core.isKnown(worker: 1, epoch: 7))
        #expect(core.lease(to: 1) == nil)
        #expect(core.lease(to: 2)?.job.id == first)
        #expect(core.status(now: Self.at(5)).workers.map(\.leased) == [2])
    }

    @Test("a worker whose connection closes is dropped at once, its jobs requeued; other workers and peers are untouched; the counters say so")
    func connectionClosed() throws {
        var core = DispatcherCore(epoch: 7, heartbeatTimeout: .seconds(4), logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        _ = core.register(name: "w1", threads: 1, peer: "ipv4:10.0.0.1:5000", now: Self.t0)
        _ = core.register(name: "w2", threads: 1, peer: "ipv4:10.0.0.2:5000", now: Self.t0)
        let run = try core.openRun(client: "client", description: "a test", now: Self.t0)
        try Self.startStage(&core, run: run, stage: 1)
        let first = try #require(try Self.enqueue(&core, run: run, stage: 1, chunk: 0))
        #expect(core.lease(to: 1)?.job.id == first)
        #expect(core.connectionClosed(peer: "ipv4:10.0.0.1:5001").isEmpty, "another connection of the same host")
        let dropped = core.connectionClosed(peer: "ipv4:10.0.0.1:5000")
        #expect(dropped == [DispatcherCore.Dropped(worker: 1, name: "w1", reason: "closed its connection", requeued: [first])])
        #expect(core.lease(to: 2)?.job.id == first)
        #expect(core.counters.workersDropped == 1 && core.counters.jobsRequeued == 1 && core.counters.jobsLeased == 2)
        #expect(core.status(now: Self.at(1)).workers.map(\.id) == [2])
    }

    @Test("a job leased longer than the lease limit goes back to the queue while its worker stays; the limit follows ten times the median job time; the first state in wins")
    func leaseLimit() throws {
        var core = DispatcherCore(epoch: 7, heartbeatTimeout: .seconds(4), minimumLease: .seconds(2),
                                  logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        for number in 1...2 { _ = core.register(name: "w\(number)", threads: 1, peer: "test", now: Self.t0) }
        let run = try core.openRun(client: "client", description: "a test", now: Self.t0)
        try Self.startStage(&core, run: run, stage: 1)
        var jobs: [UInt64] = []
        // Two jobs of 0.5 s each: the median makes the limit 5 s (above the 2 s minimum).
        for i in 0..<2 {
            let job = try #require(try Self.enqueue(&core, run: run, stage: 1, chunk: i))
            jobs.append(job)
            #expect(core.lease(to: 2, now: Self.at(Double(i)))?.job.id == job)
            #expect(core.claim(job: job, worker: 2, run: run, now: Self.at(Double(i) + 0.5)).claimed)
        }
        jobs.append(try #require(try Self.enqueue(&core, run: run, stage: 1, chunk: 2)))
        #expect(core.leaseLimit(of: try #require(core.run)) == .seconds(5))
        // Worker 1 takes a job and never answers, though it heartbeats.
        #expect(core.lease(to: 1, now: Self.at(2))?.job.id == jobs[2])
        for t in [3.0, 5.0, 6.9] {
            _ = core.heartbeat(worker: 1, epoch: 7, now: Self.at(t))
            _ = core.heartbeat(worker: 2, epoch: 7, now: Self.at(t))
            #expect(core.sweep(now: Self.at(t)).isEmpty)
        }
        _ = core.heartbeat(worker: 1, epoch: 7, now: Self.at(7.5))
        _ = core.heartbeat(worker: 2, epoch: 7, now: Self.at(7.5))
        let expired = core.sweep(now: Self.at(7.5))
        #expect(expired.map(\.requeued) == [[jobs[2]]] && expired.first?.worker == 1, "\(expired)")
        #expect(core.isKnown(worker: 1, epoch: 7), "the worker stays")
        #expect(core.status(now: Self.at(7.5)).workers.map(\.leased) == [0, 0])
        // Worker 2 takes it again; worker 1's late state comes first and is taken.
        #expect(core.lease(to: 2, now: Self.at(7.6))?.job.id == jobs[2])
        #expect(core.claim(job: jobs[2], worker: 1, run: run, now: Self.at(8)).claimed)
        #expect(!core.claim(job: jobs[2], worker: 2, run: run, now: Self.at(8.1)).claimed)
        #expect(core.status(now: Self.at(8.1)).workers.map(\.leased) == [0, 0])
    }

    @Test("a late state after a requeue: the first state in is taken, the other refused")
    func lateResult() throws {
        var (core, run) = try Self.started()
        try Self.startStage(&core, run: run, stage: 1)
        let job = try #require(try Self.enqueue(&core, run: run, stage: 1, chunk: 0))
        #expect(core.lease(to: 1)?.job.id == job)
        _ = core.heartbeat(worker: 2, epoch: 7, now: Self.at(4))
        #expect(core.sweep(now: Self.at(5)).first?.requeued == [job])
        // Requeued and not leased again: the dropped worker's late state is still welcome.
        #expect(core.target(run: run, stage: 1, job: job) != nil)
        #expect(core.claim(job: job, worker: 1, run: run).claimed)
        #expect(core.lease(to: 2) == nil, "a claimed job is not leased again")
        // Leased again, then both states come back: one is taken.
        let again = try #require(try Self.enqueue(&core, run: run, stage: 1, chunk: 1))
        #expect(core.lease(to: 2)?.job.id == again)
        #expect(core.claim(job: again, worker: 2, run: run).claimed)
        #expect(!core.claim(job: again, worker: 1, run: run).claimed)
        #expect(core.target(run: run, stage: 1, job: again) == nil)
    }

    @Test("duplicate states, states of another run, stage or job are refused")
    func duplicates() throws {
        var (core, run) = try Self.started(workers: 1)
        try Self.startStage(&core, run: run, stage: 1)
        let job = try #require(try Self.enqueue(&core, run: run, stage: 1, chunk: 0))
        #expect(core.lease(to: 1)?.job.id == job)
        #expect(core.target(run: run + 1, stage: 1, job: job) == nil)
        #expect(core.target(run: run, stage: 2, job: job) == nil)
        #expect(core.target(run: run, stage: 1, job: job + 1) == nil)
        #expect(core.claim(job: job, worker: 1, run: run) == (true, false))
        #expect(core.claim(job: job, worker: 1, run: run) == (false, false))
        // The same chunk submitted twice, a chunk before the stage's first.
        #expect(throws: DispatcherCore.Refusal.self) { try Self.enqueue(&core, run: run, stage: 1, chunk: 0) }
        try Self.startStage(&core, run: run, stage: 2, firstChunk: 5)
        #expect { try Self.enqueue(&core, run: run, stage: 2, chunk: 4) } throws: {
            ($0 as? DispatcherCore.Refusal)?.code == .invalid
        }
    }

    @Test("a worker dropped mid-stage: the stage completes with another worker's states")
    func workerDroppedMidStage() throws {
        var (core, run) = try Self.started()
        try Self.startStage(&core, run: run, stage: 1)
        let jobs = try (0..<2).map { try #require(try Self.enqueue(&core, run: run, stage: 1, chunk: $0)) }
        _ = core.lease(to: 1)
        _ = core.lease(to: 2)
        #expect(try core.endStage(run: run, stage: 1, chunks: 2) == false)
        #expect(core.claim(job: jobs[1], worker: 2, run: run) == (true, false))
        #expect(core.merged(job: jobs[1], stage: 1, chunkIndex: 1, documents: 10, worker: 2, run: run) == false)
        _ = core.heartbeat(worker: 2, epoch: 7, now: Self.at(4))
        #expect(core.sweep(now: Self.at(5)).first?.requeued == [jobs[0]])
        #expect(core.lease(to: 2)?.job.id == jobs[0])
        #expect(core.claim(job: jobs[0], worker: 2, run: run) == (true, true))
        #expect(core.merged(job: jobs[0], stage: 1, chunkIndex: 0, documents: 10, worker: 2, run: run) == true)
        core.completed(run: run, stage: 1, result: [9], inline: false)
        #expect(try core.takeResult(run: run, stage: 1) == [9])
        #expect(core.status(now: Self.at(5)).documentsDone == 20)
    }

    @Test("the client gone mid-stage: the run, its queue and leases are forgotten; late states are refused")
    func clientGone() throws {
        var (core, run) = try Self.started()
        try Self.startStage(&core, run: run, stage: 1)
        let leased = try #require(try Self.enqueue(&core, run: run, stage: 1, chunk: 0))
        _ = try Self.enqueue(&core, run: run, stage: 1, chunk: 1)
        _ = core.lease(to: 1)
        let ending = core.endRun(run, now: Self.at(2))
        let ended = try #require(ending)
        #expect(ended == DispatcherCore.Ended(id: run, queued: 1, leased: 1, documentsDone: 0, seconds: 2))
        #expect(core.endRun(run, now: Self.at(2)) == nil)
        #expect(core.target(run: run, stage: 1, job: leased) == nil)
        #expect(core.claim(job: leased, worker: 1, run: run) == (false, false))
        #expect(core.lease(to: 2) == nil)
        #expect(core.status(now: Self.at(2)).workers.map(\.leased) == [0, 0])
        #expect { try Self.enqueue(&core, run: run, stage: 1, chunk: 2) } throws: {
            ($0 as? DispatcherCore.Refusal)?.code == .noRun
        }
        // The next client gets the dispatcher.
        #expect(try core.openRun(client: "next", description: "", now: Self.at(3)) == run + 1)
    }

    @Test("backpressure: the queue holds one job per worker thread (at least two); a lease makes room")
    func backpressure() throws {
        var (core, run) = try Self.started(workers: 1)
        try Self.startStage(&core, run: run, stage: 1)
        #expect(core.queueRoom == 2)
        #expect(try Self.enqueue(&core, run: run, stage: 1, chunk: 0) != nil)
        #expect(try Self.enqueue(&core, run: run, stage: 1, chunk: 1) != nil)
        #expect(!core.hasRoom)
        #expect(try Self.enqueue(&core, run: run, stage: 1, chunk: 2) == nil)
        _ = core.lease(to: 1)
        #expect(core.hasRoom)
        #expect(try Self.enqueue(&core, run: run, stage: 1, chunk: 2) != nil)
        _ = core.register(name: "big", threads: 8, peer: "test", now: Self.t0)
        #expect(core.queueRoom == 9)
    }

    @Test("one run at a time; stages in order, each once; a wrong chunk count is refused")
    func runsAndStages() throws {
        var (core, run) = try Self.started(workers: 1)
        #expect { try core.openRun(client: "second", description: "", now: Self.t0) } throws: {
            ($0 as? DispatcherCore.Refusal)?.code == .busy
        }
        #expect { try Self.startStage(&core, run: run, stage: 2) } throws: { ($0 as? DispatcherCore.Refusal)?.code == .invalid }
        try Self.startStage(&core, run: run, stage: 1)
        #expect { try Self.startStage(&core, run: run, stage: 1) } throws: { ($0 as? DispatcherCore.Refusal)?.code == .duplicate }
        _ = try Self.enqueue(&core, run: run, stage: 1, chunk: 0)
        #expect { try core.endStage(run: run, stage: 1, chunks: 3) } throws: { ($0 as? DispatcherCore.Refusal)?.code == .invalid }
        #expect { try core.takeResult(run: run, stage: 1) } throws: { ($0 as? DispatcherCore.Refusal)?.code == .stageState }
        let stranger = core.heartbeat(worker: 1, epoch: 8, now: Self.t0)
        #expect(!stranger, "another dispatcher's epoch")
    }

    @Test("stages sent as changes: a worker holding the stage before gets that change alone, any other the last whole parameters and every change since; a change that skips a stage, of another kind or past the allowance is refused; whole parameters start the chain again")
    func parameterChain() throws {
        var (core, run) = try Self.started(workers: 1)
        let whole = [UInt8](repeating: 7, count: 100)
        try Self.startStage(&core, run: run, stage: 1, parameters: whole)
        for stage in UInt64(2)...4 {
            try Self.startStage(&core, run: run, stage: stage, parameters: [UInt8](repeating: UInt8(stage), count: 10), base: stage - 1)
        }
        func bundle(_ stage: UInt64, held: UInt64) throws -> [String] {
            var reader = PortableReader(try #require(core.stageParameters(run: run, stage: stage, held: held)), payload: "bundle")
            let entries = try (0..<reader.readInt("count", in: 1...100)).map { _ in
                let form = try reader.readInt("form", in: 0...1) == 0 ? "whole" : "change"
                let number = try reader.readInt("stage", in: 1...100)
                let bytes: [UInt8] = try reader.readArray("bytes")
                return "\(form) \(number): \(bytes.count) x \(bytes.first ?? 0)"
            }
            try reader.finish()
            return entries
        }
        #expect(try bundle(4, held: 3) == ["change 4: 10 x 4"])
        #expect(try bundle(4, held: 2) == ["change 3: 10 x 3", "change 4: 10 x 4"])
        #expect(try bundle(4, held: 0) == ["whole 1: 100 x 7", "change 2: 10 x 2", "change 3: 10 x 3", "change 4: 10 x 4"])
        #expect(try bundle(3, held: 4) == ["whole 1: 100 x 7", "change 2: 10 x 2", "change 3: 10 x 3"])
        #expect(core.stageParameters(run: run, stage: 9, held: 0) == nil)
        #expect { try Self.startStage(&core, run: run, stage: 5, parameters: [1], base: 3) } throws: {
            ($0 as? DispatcherCore.Refusal)?.code == .invalid
        }
        #expect { try core.chainBase(run: run, stage: 5, base: 4, kind: "lsi.one-pass.float64", size: 1) } throws: {
            ($0 as? DispatcherCore.Refusal)?.code == .invalid
        }
        #expect { try core.chainBase(run: run, stage: 5, base: 4, kind: WeightSum.kind, size: 2 << 20) } throws: {
            ($0 as? DispatcherCore.Refusal)?.message.contains("since the last parameters sent whole") == true
        }
        try Self.startStage(&core, run: run, stage: 5, parameters: [9, 9])
        #expect(try bundle(5, held: 4) == ["whole 5: 2 x 9"])
    }

    @Test("a complete stage's merged state is held, when its computation takes changes and the state fits the allowance, until the next stage starts, for a change that ends with it")
    func appendedResult() throws {
        let padded = try Self.paddedComputation()
        #expect(try padded.takesChanges && !Self.computation().takesChanges)
        var (core, run) = try Self.started(workers: 1)
        func start(_ stage: UInt64, _ computation: any RemoteComputation, base: UInt64, parameters: [UInt8]) throws {
            try core.startStage(run: run, stage: stage, computation: computation, parameters: parameters, baseStage: base,
                                merger: computation.makeMerger(firstChunk: 0), firstChunk: 0)
        }
        func refused(base: UInt64) -> Bool {
            let appended = Result { () throws(DispatcherCore.Refusal) -> [UInt8]? in try core.appendingResult(run: run, base: base, to: [1]) }
            guard case .failure(let refusal) = appended else { return false }
            return refusal.message.contains("the merged state of stage \(base), which the dispatcher does not hold")
        }
        try start(1, padded, base: 0, parameters: [7])
        core.completed(run: run, stage: 1, result: [5, 5, 5], inline: false)
        #expect(try core.appendingResult(run: run, base: 1, to: [1, 2]) == [1, 2, 5, 5, 5])
        #expect(refused(base: 2) && refused(base: 0))
        // The next stage started: the state is let go.
        try start(2, padded, base: 1, parameters: [1, 2, 5, 5, 5])
        #expect(refused(base: 1))
        // A state larger than the changes the chain may hold (four times the whole parameters
        // and a block) could end no change: not held.
        core.completed(run: run, stage: 2, result: [UInt8](repeating: 5, count: ClusterLimits.changeAllowance(wholeSize: 1) + 1),
                       inline: false)
        #expect(refused(base: 2))
        // A kind that takes no changes: not held either.
        try start(3, try Self.computation(), base: 0, parameters: [1, 2, 3])
        core.completed(run: run, stage: 3, result: [5], inline: true)
        #expect(refused(base: 3))
        #expect { try core.appendingResult(run: run + 1, base: 3, to: [1]) } throws: { ($0 as? DispatcherCore.Refusal)?.code == .noRun }
    }

    @Test("a stage started ahead of the stage before's end: its jobs are leased once every state of that stage is in, its parameters made when that stage's merged state ends its change; no other stage starts meanwhile; a stage before that ended in between is appended at once")
    func startedAhead() throws {
        let padded = try Self.paddedComputation()
        var (core, run) = try Self.started(workers: 1)
        func start(_ stage: UInt64, base: UInt64, parameters: [UInt8], awaiting: Bool = false) throws {
            try core.startStage(run: run, stage: stage, computation: padded, parameters: parameters, baseStage: base,
                                merger: padded.makeMerger(firstChunk: 0), firstChunk: 0, awaitingBase: awaiting)
        }
        func refusal(_ body: () throws -> Void) -> DispatcherCore.Refusal? {
            do { try body() } catch let refusal as DispatcherCore.Refusal { return refusal } catch {}
            return nil
        }
        func bundle(_ stage: UInt64, held: UInt64) throws -> [[UInt8]] {
            var reader = PortableReader(try #require(core.stageParameters(run: run, stage: stage, held: held)), payload: "bundle")
            let entries: [[UInt8]] = try (0..<reader.readInt("count", in: 1...100)).map { _ in
                _ = try reader.readInt("form", in: 0...1)
                _ = try reader.readInt("stage", in: 1...100)
                return try reader.readArray("bytes")
            }
            try reader.finish()
            return entries
        }
        try start(1, base: 0, parameters: [7])
        _ = try Self.enqueue(&core, run: run, stage: 1, chunk: 0)
        let first = core.lease(to: 1)
        #expect(first?.job.stage == 1)
        // Stage 1 runs: a change that ends with its merged state waits for it.
        #expect(try core.appendingResult(run: run, base: 1, to: [1, 2]) == nil)
        try start(2, base: 1, parameters: [1, 2], awaiting: true)
        _ = try Self.enqueue(&core, run: run, stage: 2, chunk: 1)
        let waiting = core.lease(to: 1)
        #expect(waiting == nil)
        // Stage 1's state is in: its merge depends on no worker, and stage 2's job goes out
        // (the worker's fetch of the parameters waits for them).
        #expect(try core.endStage(run: run, stage: 1, chunks: 1) == false)
        let claim = core.claim(job: try #require(first?.job.id), worker: 1, run: run)
        #expect(claim.claimed && claim.lastJobIn)
        let leased = core.lease(to: 1)
        let ahead = try #require(leased)
        #expect(ahead.job.stage == 2 && ahead.parameters == nil)
        #expect(core.stageParameters(run: run, stage: 2, held: 1) == nil && core.awaitsBase(run: run, stage: 2))
        #expect(refusal { try start(3, base: 2, parameters: [1], awaiting: true) }?.message.contains("stage 2 still waits") == true)
        #expect(refusal { try start(3, base: 0, parameters: [1]) }?.code == .invalid)

        // Stage 1 merged: stage 2's change is its beginning and stage 1's state.
        let formed = core.completed(run: run, stage: 1, result: [5, 5], inline: false)
        #expect(formed && !core.awaitsBase(run: run, stage: 2))
        #expect(try bundle(2, held: 1) == [[1, 2, 5, 5]])
        #expect(try bundle(2, held: 0) == [[7], [1, 2, 5, 5]])

        // Stage 2 ended between the client's request and the stage's start: appended at once.
        let formedAgain = core.completed(run: run, stage: 2, result: [6], inline: false)
        #expect(!formedAgain)
        try start(3, base: 2, parameters: [3], awaiting: true)
        _ = try Self.enqueue(&core, run: run, stage: 3, chunk: 2)
        let third = core.lease(to: 1)
        #expect(third?.parametersSize == 2)
        #expect(try bundle(3, held: 2) == [[3, 6]])
        // A change ending with the state of a stage that neither runs nor is held.
        #expect(refusal { _ = try core.appendingResult(run: run, base: 2, to: [1]) }?.code == .invalid)
        #expect(refusal { try start(4, base: 2, parameters: [1], awaiting: true) }?.code == .invalid)
    }

    /// Two workers; stage 1 of a computation that takes changes, of two jobs (chunks 0 and 1),
    /// ended by the client unless `ended` is false, its jobs leased to `workers` in turn (the
    /// rest left queued); stage 2 started ahead of its end with the change's beginning
    /// `beginning`.
    static func startedAhead(leasedTo workers: [UInt64], beginning: [UInt8], ended: Bool = true) throws -> (core: DispatcherCore, run: UInt64, jobs: [UInt64]) {
        let padded = try paddedComputation()
        var (core, run) = try started(workers: 2)
        try core.startStage(run: run, stage: 1, computation: padded, parameters: [7], baseStage: 0,
                            merger: padded.makeMerger(firstChunk: 0), firstChunk: 0)
        let jobs = try [0, 1].map { try #require(try enqueue(&core, run: run, stage: 1, chunk: $0)) }
        if ended { #expect(try core.endStage(run: run, stage: 1, chunks: 2) == false) }
        let leases = workers.map { core.lease(to: $0) }
        #expect(leases.map { $0?.job.id } == Array(jobs.prefix(workers.count)))
        try core.startStage(run: run, stage: 2, computation: padded, parameters: beginning, baseStage: 1,
                            merger: padded.makeMerger(firstChunk: 2), firstChunk: 2, awaitingBase: true)
        return (core, run, jobs)
    }

    @Test("a stage started ahead keeps its jobs while a job of the stage before is out: a worker dropped with one has it requeued, and the worker left runs it rather than wait on the next stage's parameters")
    func startedAheadWaitsForStates() throws {
        let setup = try Self.startedAhead(leasedTo: [1, 2], beginning: [1])
        var core = setup.core
        let (run, jobs) = (setup.run, setup.jobs)
        let ahead = try Self.enqueue(&core, run: run, stage: 2, chunk: 2)
        let firstClaim = core.claim(job: jobs[0], worker: 1, run: run)
        #expect(firstClaim.claimed && !firstClaim.lastJobIn)
        let early = core.lease(to: 1)
        #expect(early == nil, "worker 1 would wait on stage 2's parameters while stage 1 needs a state")
        _ = core.heartbeat(worker: 1, epoch: 7, now: Self.at(4))
        let dropped = core.sweep(now: Self.at(5))
        #expect(dropped.map(\.requeued) == [[jobs[1]]])
        let requeued = core.lease(to: 1)
        #expect(requeued?.job.id == jobs[1])
        let lastClaim = core.claim(job: jobs[1], worker: 1, run: run)
        #expect(lastClaim.claimed && lastClaim.lastJobIn)
        let next = core.lease(to: 1)
        #expect(next?.job.id == ahead)
    }

    /// Stage 2's FetchStage bundle for `worker` holding stage 1 and the states of `own`, as
    /// (form, bytes) entries; nil when the dispatcher has none to give yet.
    static func bundle(_ core: DispatcherCore, run: UInt64, worker: UInt64, own: Set<UInt64>) throws -> [(form: Int, bytes: [UInt8])]? {
        guard let bytes = core.stageParameters(run: run, stage: 2, held: 1, worker: worker, ownJobs: own) else { return nil }
        var reader = PortableReader(bytes, payload: "bundle")
        let entries: [(Int, [UInt8])] = try (0..<reader.readInt("count", in: 1...100)).map { _ in
            let form = try reader.readInt("form", in: 0...2)
            _ = try reader.readInt("stage", in: 1...100)
            return (form, try reader.readArray("bytes"))
        }
        try reader.finish()
        return entries
    }

    @Test("a worker whose are every job of a stage (states in from it, or jobs leased to it) gets the next stage's change without that stage's merged state (form 2) at once, and from the chain after the merge; not for a part of its jobs or another worker")
    func ownStates() throws {
        let setup = try Self.startedAhead(leasedTo: [1, 1], beginning: [1, 2])
        var core = setup.core
        let (run, jobs) = (setup.run, setup.jobs)
        func bundle(worker: UInt64, own: Set<UInt64>) throws -> [(form: Int, bytes: [UInt8])]? {
            try Self.bundle(core, run: run, worker: worker, own: own)
        }
        // Both jobs leased to worker 1, no state in yet: the worker holds both once computed.
        let leased = try #require(try bundle(worker: 1, own: Set(jobs)))
        #expect(leased.map(\.form) == [2] && leased.map(\.bytes) == [[1, 2]])
        #expect(try bundle(worker: 2, own: Set(jobs)) == nil, "worker 2 holds none of them")
        #expect(try bundle(worker: 1, own: [jobs[0]]) == nil, "not every job")
        let one = core.claim(job: jobs[0], worker: 1, run: run)
        #expect(one.claimed && !one.lastJobIn)
        let half = try #require(try bundle(worker: 1, own: Set(jobs)), "one state in, the other job leased to it")
        #expect(half.map(\.form) == [2] && half.map(\.bytes) == [[1, 2]])
        let two = core.claim(job: jobs[1], worker: 1, run: run)
        #expect(two.lastJobIn)
        let early = try #require(try bundle(worker: 1, own: Set(jobs)))
        #expect(early.map(\.form) == [2] && early.map(\.bytes) == [[1, 2]])
        #expect(try bundle(worker: 2, own: Set(jobs)) == nil, "worker 2 sent none of them")
        #expect(try bundle(worker: 1, own: [jobs[0]]) == nil, "not every job")
        // Merged: from the chain, the appended state left out.
        let formed = core.completed(run: run, stage: 1, result: [5, 5, 5], inline: true)
        #expect(formed)
        let late = try #require(try bundle(worker: 1, own: Set(jobs)))
        #expect(late.map(\.form) == [2] && late.map(\.bytes) == [[1, 2]])
        let full = try #require(try bundle(worker: 2, own: []))
        #expect(full.map(\.form) == [1] && full.map(\.bytes) == [[1, 2, 5, 5, 5]])
    }

    @Test("no form 2 while a job of the stage before is another worker's or still queued, or before the client has ended that stage; once the job is requeued and leased to the worker, it comes")
    func ownStatesNotYet() throws {
        let split = try Self.startedAhead(leasedTo: [1, 2], beginning: [1])
        var core = split.core
        let first = core.claim(job: split.jobs[0], worker: 1, run: split.run)
        #expect(first.claimed)
        #expect(try Self.bundle(core, run: split.run, worker: 1, own: [split.jobs[0]]) == nil, "job 2 is leased to worker 2")
        #expect(try Self.bundle(core, run: split.run, worker: 1, own: Set(split.jobs)) == nil, "worker 1 holds no state of job 2")
        // Worker 2 goes quiet and is dropped: its job comes back to worker 1.
        _ = core.heartbeat(worker: 1, epoch: 7, now: Self.at(4))
        let dropped = core.sweep(now: Self.at(5))
        #expect(dropped.map(\.requeued) == [[split.jobs[1]]])
        #expect(try Self.bundle(core, run: split.run, worker: 1, own: Set(split.jobs)) == nil, "job 2 is queued")
        let requeued = core.lease(to: 1)
        #expect(requeued?.job.id == split.jobs[1])
        #expect(try Self.bundle(core, run: split.run, worker: 1, own: Set(split.jobs))?.map(\.form) == [2])

        let queued = try Self.startedAhead(leasedTo: [1], beginning: [1])
        #expect(try Self.bundle(queued.core, run: queued.run, worker: 1, own: Set(queued.jobs)) == nil, "job 2 is queued")
        let open = try Self.startedAhead(leasedTo: [1, 1], beginning: [1], ended: false)
        #expect(try Self.bundle(open.core, run: open.run, worker: 1, own: Set(open.jobs)) == nil, "the client may send more chunks")
    }

    @Test("a worker rebuilds a stage from a bundle, and refuses one that is cut short, starts with a change it cannot apply, applies a change to a kind that takes none or ends elsewhere")
    func bundles() throws {
        let whole = WeightSum(termBound: 10, scale: 2).parameterBytes()
        func bundle(_ entries: [(whole: Bool, stage: Int, bytes: [UInt8])]) -> [UInt8] {
            var writer = PortableWriter()
            writer.write(entries.count)
            for entry in entries {
                writer.write(entry.whole ? 0 : 1)
                writer.write(entry.stage)
                writer.write(array: entry.bytes)
            }
            return writer.bytes
        }
        func rebuild(_ bytes: [UInt8], stage: UInt64 = 3, held: (stage: UInt64, computation: any RemoteComputation)? = nil) throws -> any RemoteComputation {
            try StageBundle.rebuild(stage: stage, kind: WeightSum.kind, from: bytes, held: held, registry: WeightSum.registry)
        }
        let built = try rebuild(bundle([(true, 3, whole)]))
        #expect(built.kind == WeightSum.kind && built.termBound == 10)
        let good = bundle([(true, 3, whole)])
        #expect(throws: PortableEncodingError.self) { try rebuild(Array(good.dropLast(2))) }
        #expect { try rebuild(bundle([(false, 3, [1, 2])])) } throws: { "\($0)".contains("a change of stage 0 next, got one of stage 3") }
        #expect { try rebuild(bundle([(false, 3, [1, 2])]), held: (2, built)) } throws: { "\($0)".contains("a computation that takes changes") }
        #expect { try rebuild(bundle([(true, 2, whole)])) } throws: { "\($0)".contains("parameters that end with stage 3") }
        #expect(throws: PortableEncodingError.self) { try rebuild(bundle([(true, 3, [7, 7, 7])])) }
    }

    @Test("thousands of stages: each is forgotten once complete, so what is held stays bounded")
    func thousandsOfStages() throws {
        var (core, run) = try Self.started(workers: 1)
        for stage in UInt64(1)...10_000 {
            try Self.startStage(&core, run: run, stage: stage, firstChunk: Int(stage))
            let job = try #require(try Self.enqueue(&core, run: run, stage: stage, chunk: Int(stage)))
            #expect(core.lease(to: 1)?.job.id == job)
            #expect(core.claim(job: job, worker: 1, run: run) == (true, false))
            _ = core.merged(job: job, stage: stage, chunkIndex: Int(stage), documents: 10, worker: 1, run: run)
            #expect(try core.endStage(run: run, stage: stage, chunks: 1))
            core.completed(run: run, stage: stage, result: [1], inline: stage % 2 == 0)
            if stage % 2 == 1 { #expect(try core.takeResult(run: run, stage: stage) == [1]) }
            let status = core.status(now: Self.t0)
            if status.stagesHeld != 0 { Issue.record("stage \(stage): \(status.stagesHeld) stages held"); break }
        }
        let status = core.status(now: Self.t0)
        #expect(status.stages == 10_000 && status.jobsDone == 10_000 && status.documentsDone == 100_000)
    }
}
