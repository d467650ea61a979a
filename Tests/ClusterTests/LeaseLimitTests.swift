import Foundation
import Latent
import TestSupport
import Testing

/// A worker that heartbeats but never returns its job (issue 15, must-show 4).
@Suite("lease limit", .serialized, .timeLimit(.minutes(5)))
struct LeaseLimitTests {
    @Test("a worker that heartbeats but never returns its jobs: they go to another worker after the lease limit, and the run ends with the in-process topics")
    func stuckWorker() throws {
        let cluster = TestCluster()
        defer { cluster.stop() }
        let dispatcher = try cluster.startDispatcher(arguments: ["--lease-limit", "1"])
        // Its jobs sleep for ten minutes; its heartbeats go on.
        try cluster.startWorker(expectedID: 1, jobDelayMilliseconds: 600_000)
        let reference = try runProcess(TestCluster.binary, ["example", "--documents", "3000", "--chunk-size", "500", "--distributed", "off"])
        let started = Date()
        let run = try ChildProcess("client", TestCluster.binary, ["example", "--documents", "3000", "--chunk-size", "500",
                                                                  "--distributed", "required", "--dispatcher", cluster.address])
        defer { run.stop() }
        // The stuck worker holds a job before the second worker comes.
        try dispatcher.waitFor("to worker #1")
        try cluster.startWorker(expectedID: 2)
        #expect(run.waitForExit(timeout: 120) == 0, "\(run.output)")
        let seconds = Date().timeIntervalSince(started)
        try dispatcher.waitFor("over the lease limit of")
        #expect(run.output.contains("worker #1 held job #") && run.output.contains("was requeued"), "\(run.output)")
        let topics = { (text: String) in
            text.split(separator: "\n").filter { $0.contains("topic #") }.map { $0.split(separator: ":").dropFirst(3).joined(separator: ":") }
        }
        #expect(!topics(run.output).isEmpty && topics(run.output) == topics(reference.error + reference.output))
        // The limit (1 s, or ten times the median job) and the jobs' own time, far from the 600 s the worker would take.
        #expect(seconds < 60, "the run took \(seconds) s")
        print("run with a stuck worker: \(String(format: "%.1f", seconds)) s")
    }
}
