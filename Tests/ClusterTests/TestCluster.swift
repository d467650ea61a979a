import Foundation
import Latent
import Synchronization
import TestSupport

/// Real cluster processes on loopback for one test: a dispatcher on a port the system
/// picks, workers pointed at it, and the test's own process as the client. `stop` kills
/// every process it started; tests call it in a `defer`, and deinit calls it too.
final class TestCluster: @unchecked Sendable {
    static var binary: String { Bundle.main.bundleURL.path + "/latent" }

    private(set) var processes: [ChildProcess] = []
    private(set) var dispatcher: ChildProcess?
    private(set) var port = 0
    /// Arguments every process gets (a token, certificates).
    let common: [String]
    let clientCommon: [String]

    init(common: [String] = [], clientCommon: [String]? = nil) {
        self.common = common
        self.clientCommon = clientCommon ?? common
    }

    deinit { stop() }

    var address: String { "127.0.0.1:\(port)" }

    /// Starts the dispatcher (on `port`, or one the system picks) and waits until it listens.
    @discardableResult
    func startDispatcher(port requested: Int = 0, arguments: [String] = []) throws -> ChildProcess {
        let process = try ChildProcess("dispatcher", Self.binary,
                                       ["dispatcher", "--listen", "127.0.0.1:\(requested)", "--log-level", "debug"] + common + arguments)
        processes.append(process)
        dispatcher = process
        let text = try process.waitFor("latent dispatcher listening on 127.0.0.1:")
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("latent dispatcher listening on 127.0.0.1:") }),
              let port = Int(line.split(separator: ":").last ?? "") else {
            throw ChildProcessError("no port in the dispatcher's output:\n\(text)")
        }
        self.port = port
        return process
    }

    /// Starts a worker and waits until the dispatcher has registered it as worker #`expectedID`.
    @discardableResult
    func startWorker(expectedID: Int, threads: Int = 1, jobDelayMilliseconds: Int = 0, arguments: [String] = []) throws -> ChildProcess {
        let process = try ChildProcess("worker #\(expectedID)", Self.binary,
                                       ["worker", "--dispatcher", address, "--threads", "\(threads)", "--name", "test-\(expectedID)"]
                                           + clientCommon + arguments,
                                       environment: ["LATENT_TEST_JOB_DELAY_MS": "\(jobDelayMilliseconds)"])
        processes.append(process)
        try dispatcher?.waitFor("worker #\(expectedID) registered")
        return process
    }

    func stop() {
        for process in processes { process.stop() }
    }

    /// A client executor for this cluster, logging into `log`.
    func executor(_ execution: Execution = .distributed, security: ClusterSecurity = ClusterSecurity(),
                  log: LogCapture) -> ClusterExecutor {
        ClusterExecutor(execution: execution, dispatcher: ClusterAddress(host: "127.0.0.1", port: port),
                        security: security, local: InProcessExecutor(threads: 1), logger: log.logger, registry: .builtIn)
    }
}

/// Log lines, kept for the test to read and wait on.
final class LogCapture: Sendable {
    private let state = Mutex(State())

    private struct State {
        var lines: [String] = []
        var waiters: [UInt64: (needle: String, continuation: CheckedContinuation<Void, any Error>)] = [:]
        var nextWaiter: UInt64 = 0
    }

    var logger: Logger {
        Logger(label: "test") { _ in
            GensimStyleLogHandler(level: .info) { [self] line in self.append(line) }
        }
    }

    var text: String { state.withLock { $0.lines.joined() } }

    private func append(_ line: String) {
        let ready = state.withLock { state in
            state.lines.append(line)
            let matched = state.waiters.filter { line.contains($0.value.needle) }
            for key in matched.keys { state.waiters[key] = nil }
            return matched.values.map(\.continuation)
        }
        for continuation in ready { continuation.resume() }
    }

    /// Waits until a line containing `needle` is logged (or was already).
    func waitFor(_ needle: String, timeout: Duration = .seconds(30)) async throws {
        let id = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let already = state.withLock { state in
                if state.lines.contains(where: { $0.contains(needle) }) { return true }
                state.waiters[id] = (needle, continuation)
                return false
            }
            if already {
                continuation.resume()
                return
            }
            Task { [self] in
                try? await Task.sleep(for: timeout)
                let late = state.withLock { $0.waiters.removeValue(forKey: id) }
                late?.continuation.resume(throwing: ChildProcessError("'\(needle)' was not logged within \(timeout):\n\(text)"))
            }
        }
    }
}
