import Foundation
import Latent
import TestSupport
import Testing

@Suite("execution modes", .serialized, .timeLimit(.minutes(3)))
struct ExecutionModeTests {
    // A refused connection fails at once: the 10 s the required mode allows a dispatcher to answer
    // are not spent waiting when nothing listens.
    @Test("--distributed required with no dispatcher fails clearly within 2 s; auto falls back and says so")
    func noDispatcher() throws {
        let port = try freeLoopbackPort()
        let arguments = ["example", "--documents", "1000", "--chunk-size", "100", "--dispatcher", "127.0.0.1:\(port)"]
        let started = Date()
        let required = try runProcess(TestCluster.binary, arguments + ["--distributed", "required"])
        let seconds = Date().timeIntervalSince(started)
        #expect(required.status == 1, "\(required.error)")
        #expect(required.error.contains("latent: error: distributed mode: no dispatcher answered at 127.0.0.1:\(port) within 10 s"),
                "\(required.error)")
        #expect(seconds < 2, "took \(seconds) s")

        // Nobody asked for a cluster: at the default level nothing is said of one; at debug, one line.
        let automatic = try runProcess(TestCluster.binary, arguments + ["--distributed", "auto"])
        #expect(automatic.status == 0, "\(automatic.error)")
        #expect(!automatic.error.contains("dispatcher"), "\(automatic.error)")
        #expect(automatic.output.contains(#"0.644*"system" + 0.404*"user""#))
        let debug = try runProcess(TestCluster.binary, arguments + ["--distributed", "auto", "--log-level", "debug"])
        #expect(debug.status == 0, "\(debug.error)")
        let lookups = debug.error.split(separator: "\n").filter { $0.contains("no dispatcher answered") }
        #expect(!lookups.isEmpty && lookups.allSatisfy { $0.contains(" : DEBUG : no dispatcher answered at 127.0.0.1:\(port) within 1 s") },
                "\(debug.error)")

        let off = try runProcess(TestCluster.binary, arguments + ["--distributed", "off"])
        #expect(off.status == 0 && off.error.contains("running in-process") && !off.error.contains("no dispatcher"), "\(off.error)")

        let bad = try runProcess(TestCluster.binary, arguments + ["--distributed", "sometimes"])
        #expect(bad.status == 64 && bad.error.contains("expected auto, off or required"), "\(bad.error)")
    }

    @Test("a dispatcher without workers: required fails, auto runs in-process; status lists workers and the run")
    func noWorkers() throws {
        let cluster = TestCluster()
        defer { cluster.stop() }
        try cluster.startDispatcher()
        let arguments = ["example", "--documents", "100", "--chunk-size", "10", "--dispatcher", cluster.address]
        let required = try runProcess(TestCluster.binary, arguments + ["--distributed", "required"])
        #expect(required.status == 1 && required.error.contains("has no workers"), "\(required.error)")
        let automatic = try runProcess(TestCluster.binary, arguments)
        #expect(automatic.status == 0 && automatic.error.contains("has no workers: running in-process"), "\(automatic.error)")

        try cluster.startWorker(expectedID: 1, threads: 2)
        let status = try runProcess(TestCluster.binary, ["status", "--dispatcher", cluster.address])
        #expect(status.status == 0, "\(status.error)")
        #expect(status.output.contains("1 worker, cluster protocol version \(ClusterProtocol.version)\nno run in progress"), "\(status.output)")
        #expect(status.output.contains("test-1 (ipv4:127.0.0.1:"), "\(status.output)")
    }
}
