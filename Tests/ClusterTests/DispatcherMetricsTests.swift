import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GRPCCore
import Latent
@testable import LatentCluster
import TestSupport
import Testing

/// `latent dispatcher --metrics` (issue 15, must-show 7): Prometheus's text format, and
/// counters that match what was done.
@Suite("dispatcher metrics", .serialized, .timeLimit(.minutes(3)))
struct DispatcherMetricsTests {
    static let token = "right-token-0123456789"

    /// The page at `url`: status and body.
    static func fetch(_ url: String, token: String?) async throws -> (Int, String) {
        var request = URLRequest(url: try #require(URL(string: url)))
        if let token { request.setValue("Bearer " + token, forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    /// The samples of a Prometheus text page, checked line by line: every sample's metric has
    /// a HELP and a TYPE line before it, and every value is a number.
    static func samples(_ page: String) throws -> [String: Double] {
        var typed: Set<String> = [], helped: Set<String> = [], values: [String: Double] = [:]
        for line in page.split(separator: "\n").map(String.init) {
            let fields = line.split(separator: " ", maxSplits: 3).map(String.init)
            if line.hasPrefix("# HELP ") { helped.insert(fields[2]); continue }
            if line.hasPrefix("# TYPE ") {
                #expect(["counter", "gauge"].contains(fields.last ?? ""), "\(line)")
                typed.insert(fields[2])
                continue
            }
            let parts = line.split(separator: " ").map(String.init)
            try #require(parts.count == 2, "a sample is a name and a value: \(line)")
            let name = String(parts[0].prefix { $0 != "{" })
            #expect(typed.contains(name) && helped.contains(name), "\(name) has no TYPE or HELP line before it")
            let value = Double(parts[1])
            #expect(value != nil, "not a number: \(line)")
            values[parts[0]] = value
        }
        return values
    }

    @Test("after a run of 10 jobs over 5,000 documents and 3 calls with a wrong token, /metrics says so in Prometheus's text format; without the token it is refused")
    func countersMatchTheRun() async throws {
        let directory = try TemporaryDirectory()
        let corpus = try CheckpointResumeTests.corpus(in: directory)
        let cluster = TestCluster(common: ["--token", Self.token])
        defer { cluster.stop() }
        let dispatcher = try cluster.startDispatcher(arguments: ["--metrics", "127.0.0.1:0"])
        let text = try dispatcher.waitFor("latent dispatcher metrics on http://")
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("latent dispatcher metrics on ") })
        let url = String(line.dropFirst("latent dispatcher metrics on ".count))
        try cluster.startWorker(expectedID: 1)

        for _ in 0..<3 {
            let refused = try runProcess(TestCluster.binary, ["status", "--dispatcher", cluster.address, "--token", "wrong-token-0123456789"])
            #expect(refused.status != 0)
        }
        // A chunk for a run that does not exist: refused at its header.
        let address = ClusterAddress(host: "127.0.0.1", port: cluster.port)
        _ = try await Transport.withDispatcher(address, security: ClusterSecurity(token: Self.token)) { client in
            await #expect(throws: RPCError.self) {
                _ = try await Transport.upload({ try await client.submitChunk(options: Transport.callOptions(timeout: .seconds(30)), requestProducer: $0, onResponse: $1) }) { writer in
                    try await writer.write(.with {
                        $0.header = .with { $0.size = 1 << 20; $0.chunk = .with { $0.runID = 999; $0.stage = 1; $0.documents = 1 } }
                    })
                }
            }
        }
        let run = try runProcess(TestCluster.binary, ["lsi", corpus, "--topics", "8", "--chunk-size", "500", "--out", directory.file("model"),
                                                      "--distributed", "required", "--dispatcher", cluster.address, "--token", Self.token])
        #expect(run.status == 0, "\(run.error)")

        let (refusedStatus, _) = try await Self.fetch(url, token: nil)
        #expect(refusedStatus == 401)
        let (status, page) = try await Self.fetch(url, token: Self.token)
        #expect(status == 200)
        let values = try Self.samples(page)
        let expected: [String: Double] = [
            "latent_dispatcher_workers": 1,
            "latent_dispatcher_workers_registered_total": 1,
            "latent_dispatcher_workers_dropped_total": 0,
            "latent_dispatcher_runs_total": 1,
            "latent_dispatcher_run_active": 0,
            "latent_dispatcher_stages_started_total": 1,
            "latent_dispatcher_stages_completed_total": 1,
            "latent_dispatcher_stages_held": 0,
            "latent_dispatcher_jobs_queued_total": 10,
            "latent_dispatcher_jobs_leased_total": 10,
            "latent_dispatcher_jobs_done_total": 10,
            "latent_dispatcher_jobs_requeued_total": 0,
            "latent_dispatcher_leases_expired_total": 0,
            "latent_dispatcher_documents_total": 5000,
            "latent_dispatcher_jobs_in_queue": 0,
            "latent_dispatcher_jobs_in_lease": 0,
            "latent_dispatcher_refused_calls_total{reason=\"token\"}": 3,
            "latent_dispatcher_refused_calls_total{reason=\"payload\"}": 1,
            "latent_dispatcher_payload_bytes_reserved": 0,
        ]
        for (name, value) in expected.sorted(by: { $0.key < $1.key }) {
            #expect(values[name] == value, "\(name): \(values[name].map { "\($0)" } ?? "missing"), expected \(value)\n\(page)")
        }
        #expect((values["latent_dispatcher_resident_memory_bytes"] ?? 0) > 1_000_000)
        #expect((values["latent_dispatcher_uptime_seconds"] ?? 0) > 0)
    }
}
