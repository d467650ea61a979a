import Foundation
import Latent
import LatentCluster
import Synchronization
import TestSupport

/// A dispatcher and workers inside the test's own process, over loopback, built from the
/// library as a Swift program would build them: with a registry of the program's choosing
/// (here, computations defined in the tests). `stop` cancels them all; tests call it in a
/// `defer`.
final class InProcessCluster: Sendable {
    let registry: ComputationRegistry
    let dispatcherLog = LogCapture()
    private let tasks = Mutex<[Task<Void, Never>]>([])
    private let bound = Mutex<ClusterAddress?>(nil)

    init(registry: ComputationRegistry) {
        self.registry = registry
    }

    deinit { stop() }

    /// Starts the dispatcher on a port the system picks, with the options `configure` sets;
    /// returns its address once it listens.
    func startDispatcher(configure: (inout Dispatcher.Options) -> Void = { _ in }) async throws -> ClusterAddress {
        let listening = AsyncStream<ClusterAddress>.makeStream()
        var options = Dispatcher.Options(listen: ClusterAddress(host: "127.0.0.1", port: 0))
        configure(&options)
        let dispatcher = try Dispatcher(options: options, registry: registry, logger: dispatcherLog.logger)
        let task = Task {
            do {
                try await dispatcher.run { address in listening.continuation.yield(address) }
            } catch {
                listening.continuation.finish()
            }
        }
        tasks.withLock { $0.append(task) }
        var iterator = listening.stream.makeAsyncIterator()
        guard let address = await iterator.next() else { throw ChildProcessError("the dispatcher did not start") }
        bound.withLock { $0 = address }
        return address
    }

    /// Starts a worker and waits until the dispatcher has registered it as worker #`id`.
    func startWorker(id: Int) async throws {
        guard let address = bound.withLock({ $0 }) else { throw ChildProcessError("no dispatcher") }
        let worker = try Worker(options: .init(dispatcher: address, threads: 1, name: "in-process-\(id)"), registry: registry,
                                logger: Logger(label: "worker") { _ in SwiftLogNoOpLogHandler() })
        let task = Task { _ = try? await worker.run() }
        tasks.withLock { $0.append(task) }
        try await dispatcherLog.waitFor("worker #\(id) registered")
    }

    /// A client executor for this cluster.
    func executor(log: LogCapture) -> ClusterExecutor {
        ClusterExecutor(execution: .distributed, dispatcher: bound.withLock { $0 } ?? .defaultDispatcher,
                        local: InProcessExecutor(threads: 1), logger: log.logger, registry: registry)
    }

    func stop() {
        for task in tasks.withLock({ $0 }) { task.cancel() }
    }
}
