import Foundation
import Latent
import TestSupport
import Testing

/// A network partition between the dispatcher's host and the client's and worker's
/// (issue 15, must-show 2): the dispatcher runs in a network namespace of its own, joined to
/// the test's by a veth pair, and the link is cut mid-run.
@Suite("network partitions", .serialized, .timeLimit(.minutes(5)),
       .enabled(if: NetworkNamespace.usable(by: "the network partition tests"), "needs network namespaces (root and a kernel that allows them)"))
struct PartitionTests {
    /// The dispatcher in `namespace`, a worker and the client outside it.
    final class Setup {
        let namespace: NetworkNamespace
        let dispatcher: ChildProcess
        let worker: ChildProcess
        let address: String
        let directory: TemporaryDirectory
        let corpus: String
        var client: ChildProcess?

        init() throws {
            directory = try TemporaryDirectory()
            corpus = try CheckpointResumeTests.corpus(in: directory)
            namespace = try NetworkNamespace()
            let (executable, arguments) = namespace.command(TestCluster.binary, [
                "dispatcher", "--listen", "\(namespace.address):0", "--insecure", "--log-level", "debug"])
            dispatcher = try ChildProcess("dispatcher", executable, arguments)
            let text = try dispatcher.waitFor("latent dispatcher listening on \(namespace.address):")
            let line = text.split(separator: "\n").first { $0.hasPrefix("latent dispatcher listening on") } ?? ""
            address = "\(namespace.address):\(line.split(separator: ":").last ?? "")"
            // Jobs of 0.5 s: the run is in progress when the link goes down.
            worker = try ChildProcess("worker", TestCluster.binary,
                                      ["worker", "--dispatcher", address, "--threads", "1", "--name", "outside"],
                                      environment: ["LATENT_TEST_JOB_DELAY_MS": "500"])
            try dispatcher.waitFor("worker #1 registered")
        }

        /// `latent lsi` of the planted corpus (10 chunks) on the cluster, with `grace` seconds of grace.
        func startClient(grace: Int) throws -> ChildProcess {
            let client = try ChildProcess("client", TestCluster.binary, training + [
                "--out", directory.file("model"), "--distributed", "required", "--dispatcher", address, "--grace", "\(grace)"])
            self.client = client
            return client
        }

        var training: [String] { ["lsi", corpus, "--topics", "8", "--chunk-size", "500"] }

        /// Cuts the link once the run is under way.
        func cutDuringRun() throws -> Date {
            try dispatcher.waitFor("run #1 opened")
            try dispatcher.waitFor("leased job", count: 2)
            try namespace.down()
            return Date()
        }

        func stop() {
            client?.stop()
            worker.stop()
            dispatcher.stop()
            namespace.remove()
        }
    }

    static func topics(_ text: String) -> [String] {
        text.split(separator: "\n").filter { $0.contains("topic #") }.map { $0.split(separator: ":").dropFirst(3).joined(separator: ":") }
    }

    @Test("the link down for 8 s mid-run: the client notices within 10 s, waits, and completes with the in-process topics once it is back")
    func shortOutage() throws {
        let setup = try Setup()
        defer { setup.stop() }
        let reference = try runProcess(TestCluster.binary, setup.training + ["--out", setup.directory.file("reference"), "--distributed", "off"])
        let client = try setup.startClient(grace: 30)
        let cut = try setup.cutDuringRun()
        try client.waitFor("lost the dispatcher at \(setup.address)", timeout: 10)
        let noticed = Date().timeIntervalSince(cut)
        // The outage lasts 8 s whatever happens meanwhile: a scenario, not a wait for an event.
        Thread.sleep(forTimeInterval: max(0, 8 - Date().timeIntervalSince(cut)))
        try setup.namespace.up()
        #expect(client.waitForExit(timeout: 120) == 0, "\(client.output)")
        #expect(client.output.contains("is back: running the session again"), "\(client.output)")
        #expect(!Self.topics(client.output).isEmpty && Self.topics(client.output) == Self.topics(reference.error + reference.output),
                "\(client.output)")
        // The worker lost the dispatcher too, and registered again.
        try setup.dispatcher.waitFor("registered", count: 2)
        print("partition of 8 s: noticed after \(String(format: "%.1f", noticed)) s, run completed after the link came back")
    }

    @Test("with a grace of 0 the client fails within 10 s of the cut, saying it lost the dispatcher")
    func noGrace() throws {
        let setup = try Setup()
        defer { setup.stop() }
        let client = try setup.startClient(grace: 0)
        let cut = try setup.cutDuringRun()
        let status = client.waitForExit(timeout: 10)
        let seconds = Date().timeIntervalSince(cut)
        try setup.namespace.up()
        #expect(status != nil && status != 0, "\(client.output)")
        #expect(client.output.contains("lost the dispatcher at \(setup.address)"), "\(client.output)")
        print("partition with no grace: the client failed after \(String(format: "%.1f", seconds)) s")
    }

    @Test("a link down for longer than the grace: the client fails within grace + 10 s, and the dispatcher and worker carry on when it is back")
    func longOutage() throws {
        let setup = try Setup()
        defer { setup.stop() }
        let grace = 10.0
        let client = try setup.startClient(grace: Int(grace))
        let cut = try setup.cutDuringRun()
        let status = client.waitForExit(timeout: grace + 10)
        let seconds = Date().timeIntervalSince(cut)
        #expect(status != nil && status != 0, "\(client.output)")
        #expect(client.output.contains("was not back with a worker within the grace period of 10 s"), "\(client.output)")
        // The link comes back after the client gave up (it would have failed the same for any
        // longer outage): nothing hangs.
        try setup.namespace.up()
        try setup.dispatcher.waitFor("registered", count: 2, timeout: 20)
        let status2 = try runProcess(TestCluster.binary, ["status", "--dispatcher", setup.address])
        #expect(status2.status == 0 && status2.output.contains("no run in progress"), "\(status2.output)\(status2.error)\n\(setup.dispatcher.output.suffix(3000))")
        print("partition longer than the grace of 10 s: the client failed after \(String(format: "%.1f", seconds)) s")
    }

    @Test("past --max-connections-per-peer, a remote address's connections are closed as soon as they are accepted; other addresses are served")
    func perPeerCap() throws {
        let namespace = try NetworkNamespace()
        defer { namespace.remove() }
        let (executable, arguments) = namespace.command(TestCluster.binary, [
            "dispatcher", "--listen", "\(namespace.address):0", "--insecure", "--max-connections-per-peer", "4"])
        let dispatcher = try ChildProcess("dispatcher", executable, arguments)
        defer { dispatcher.stop() }
        let text = try dispatcher.waitFor("latent dispatcher listening on \(namespace.address):")
        let line = text.split(separator: "\n").first { $0.hasPrefix("latent dispatcher listening on") } ?? ""
        let port = try #require(Int(line.split(separator: ":").last ?? ""))
        let raw = try IdleConnectionTests.idleConnections(8, port: port, host: namespace.address)
        defer { for fd in raw { close(fd) } }
        let times = IdleConnectionTests.closingTimes(raw, timeout: 3)
        #expect(times.filter { $0 != nil }.count == 4 && times.filter { $0 == nil }.count == 4, "\(times)")
        try dispatcher.waitFor("refused a connection from \(namespace.hostAddress): \(namespace.hostAddress) holds 4 connections")
        // The namespace's own address is another peer: served.
        let (statusExecutable, statusArguments) = namespace.command(TestCluster.binary, ["status", "--dispatcher", "\(namespace.address):\(port)"])
        let status = try runProcess(statusExecutable, statusArguments)
        #expect(status.status == 0, "\(status.error)")
    }
}
