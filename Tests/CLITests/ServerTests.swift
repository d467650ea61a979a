import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Latent
import TestSupport
import Testing

/// `latent serve` as a real server on a free port, asked over HTTP.
@Suite("latent serve", .serialized, .timeLimit(.minutes(5)))
struct ServerTests {
    /// The Deerwester titles indexed through TF-IDF and a 2-topic LSI model, with titles.
    static func makeIndex(in dir: String) throws -> String {
        try FileManager.default.createDirectory(atPath: dir + "/texts", withIntermediateDirectories: false)
        for (i, title) in SimilarityCommandTests.titles.enumerated() {
            try title.write(toFile: dir + "/texts/d\(i + 1).txt", atomically: true, encoding: .utf8)
        }
        try (SimilarityCommandTests.titles.joined(separator: "\n") + "\n").write(toFile: dir + "/titles.txt", atomically: true, encoding: .utf8)
        for arguments in [
            ["corpus", dir + "/texts", "--out", dir + "/docs"],
            ["tfidf", dir + "/docs.mm", "--out", dir + "/docs.tfidf.mm", "--model", dir + "/docs.tfidf"],
            ["lsi", dir + "/docs.tfidf.mm", "--vocab", dir + "/docs.vocab", "--topics", "2", "--out", dir + "/docs.lsi"],
            ["index", dir + "/docs.mm", "--vocab", dir + "/docs.vocab", "--tfidf", dir + "/docs.tfidf", "--model", dir + "/docs.lsi",
             "--titles", dir + "/titles.txt", "--out", dir + "/docs.index"],
        ] {
            let result = try CommandLineTests.run(arguments)
            try #require(result.status == 0, "\(arguments): \(result.error)")
        }
        return dir + "/docs.index"
    }

    /// A server on a free port; its base URL read from its log.
    static func start(_ index: String, _ extra: [String] = [], environment: [String: String] = [:]) throws -> (ChildProcess, String) {
        let server = try ChildProcess("server", CommandLineTests.binary,
                                      ["serve", index, "--listen", "127.0.0.1:0", "--log-level", "debug"] + extra,
                                      environment: environment)
        let log = try server.waitFor(" on http://")
        guard let range = log.range(of: #"http://127\.0\.0\.1:[0-9]+"#, options: .regularExpression) else {
            throw ChildProcessError("no address in the server's log:\n\(log)")
        }
        return (server, String(log[range]))
    }

    struct Reply: Sendable {
        var status: Int
        var body: String
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(body.utf8)) }
    }

    static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 30
        configuration.httpMaximumConnectionsPerHost = 128
        return URLSession(configuration: configuration)
    }()

    static func request(_ url: String, body: Data? = nil, token: String? = nil, method: String? = nil) async throws -> Reply {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method ?? (body == nil ? "GET" : "POST")
        request.httpBody = body
        if let token { request.setValue("Bearer " + token, forHTTPHeaderField: "Authorization") }
        let (data, response) = try await session.data(for: request)
        return Reply(status: (response as? HTTPURLResponse)?.statusCode ?? 0, body: String(decoding: data, as: UTF8.self))
    }

    static func post(_ url: String, _ text: String, token: String? = nil) async throws -> Reply {
        try await request(url, body: Data(text.utf8), token: token)
    }

    @Test("every endpoint answers; results equal `latent similar --json`; bad requests get JSON errors and the server goes on")
    func endpoints() async throws {
        let temporary = try TemporaryDirectory()
        let index = try Self.makeIndex(in: temporary.path)
        let (server, base) = try Self.start(index, ["--max-request-bytes", "4096"])
        defer { server.stop() }

        let health = try await Self.request(base + "/health")
        #expect(health.status == 200 && health.body.contains("\"documents\": 9") && health.body.contains("\"model\": \"lsi\""), "\(health.body)")
        let cli = try CommandLineTests.run(["similar", index, "graph minors trees", "--top", "4", "--json"])
        let similar = try await Self.post(base + "/similar", #"{"text": "graph minors trees", "top": 4}"#)
        #expect(similar.status == 200 && similar.body == cli.output.trimmingCharacters(in: .newlines), "\(similar.body) / \(cli.output)")
        let byDocument = try await Self.post(base + "/similar", #"{"document": 7, "top": 2}"#)
        #expect((byDocument.json as? [[String: Any]])?.first?["document"] as? Int == 7)
        #expect((byDocument.json as? [[String: Any]])?.first?["title"] as? String == SimilarityCommandTests.titles[7])
        let vector = try await Self.post(base + "/similar", #"{"vector": [1, 0], "top": 9, "order": "magnitude"}"#)
        #expect((vector.json as? [[String: Any]])?.count == 9, "\(vector.body)")
        let batch = try await Self.post(base + "/similar", #"{"vectors": [[1, 0], [0, 1]], "top": 3}"#)
        #expect((batch.json as? [[Any]])?.map(\.count) == [3, 3], "\(batch.body)")
        let sparse = try await Self.post(base + "/similar", #"{"sparse": [[1, 0.5]], "top": 1}"#)
        #expect(sparse.status == 200, "\(sparse.body)")
        let project = try await Self.post(base + "/project", #"{"text": "graph trees zebra"}"#)
        #expect(project.body.contains("\"known_words\": 2, \"unknown_words\": 1"), "\(project.body)")
        let topics = try await Self.request(base + "/topics")
        #expect(topics.body.contains("\"kind\": \"lsi\"") && topics.body.contains("\"singular_values\""), "\(topics.body.prefix(200))")
        let view = try await Self.request(base + "/topics/view")
        #expect(view.status == 200 && view.body.contains("<svg class=\"spectrum\""))
        let document = try await Self.request(base + "/documents/8")
        #expect(document.body.contains(SimilarityCommandTests.titles[8]), "\(document.body)")
        let documentView = try await Self.request(base + "/documents/8/view")
        #expect(documentView.status == 200 && documentView.body.contains("<h2>\(SimilarityCommandTests.titles[8])</h2>")
                && documentView.body.components(separatedBy: "<rect ").count == 3, "\(documentView.body)")
        let page = try await Self.request(base + "/")
        #expect(page.status == 200 && page.body.contains("<form class=\"search\" id=\"search\">") && !page.body.contains("http://") && !page.body.contains("https://"))

        // Bad requests: each a JSON error with the right status.
        let bad: [(String, String?, Int, String)] = [
            ("/similar", "not json", 400, "not valid JSON"),
            ("/similar", #"{"text": 3}"#, 400, "field 'text'"),
            ("/similar", #"{"text": "a", "document": 1}"#, 400, "exactly one of"),
            ("/similar", #"{"document": 99}"#, 400, "not in the index"),
            ("/similar", #"{"vector": [1, 2, 3]}"#, 400, "expected 2 values"),
            ("/similar", #"{"vector": [1, 1e999]}"#, 400, "not valid JSON"),
            ("/similar", #"{"text": "x", "top": 0}"#, 400, "top"),
            ("/similar", #"{"text": "x", "order": "sideways"}"#, 400, "order"),
            ("/similar", String(repeating: "x", count: 5000), 413, "larger than 4096 bytes"),
            ("/documents/abc", nil, 400, "expected a number"),
            ("/documents/77", nil, 404, "not in the index"),
            ("/documents/77/view", nil, 404, "not in the index"),
            ("/nowhere", nil, 404, "no such endpoint"),
        ]
        for (path, body, status, message) in bad {
            let reply = try await Self.request(base + path, body: body.map { Data($0.utf8) })
            #expect(reply.status == status && reply.body.contains(message), "\(path) \(body ?? ""): \(reply.status) \(reply.body)")
            #expect((reply.json as? [String: Any])?["error"] is String, "\(path): not a JSON error: \(reply.body)")
        }
        let wrongMethod = try await Self.request(base + "/similar", method: "GET")
        #expect(wrongMethod.status >= 400 && wrongMethod.status < 500 && wrongMethod.json != nil, "\(wrongMethod.status) \(wrongMethod.body)")
        #expect(try await Self.request(base + "/health").status == 200)
        let metrics = try await Self.request(base + "/metrics")
        #expect(metrics.body.contains("latent_requests_total{endpoint=\"/similar\",status=\"400\"}") && metrics.body.contains("latent_index_documents 9"), "\(metrics.body)")
    }

    @Test("a token is required on every endpoint but the page, and a wrong one refused (logged once); no token beyond loopback is refused at start")
    func token() async throws {
        let temporary = try TemporaryDirectory()
        let index = try Self.makeIndex(in: temporary.path)
        let (server, base) = try Self.start(index, [], environment: ["LATENT_SERVE_TOKEN": "s3cret-token-0123456789"])
        defer { server.stop() }
        for path in ["/health", "/topics", "/metrics", "/documents/1"] {
            let missing = try await Self.request(base + path)
            #expect(missing.status == 401 && missing.body.contains("needs a token"), "\(path): \(missing.body)")
            let wrong = try await Self.request(base + path, token: "s3cret-token-0123456780")
            #expect(wrong.status == 401 && wrong.body.contains("wrong token"), "\(path): \(wrong.body)")
            #expect(try await Self.request(base + path, token: "s3cret-token-0123456789").status == 200)
        }
        #expect(try await Self.post(base + "/similar", #"{"text": "graph"}"#).status == 401)
        #expect(try await Self.post(base + "/similar", #"{"text": "graph"}"#, token: "s3cret-token-0123456789").status == 200)
        #expect(try await Self.request(base + "/").status == 200)
        #expect(server.output.components(separatedBy: "without the right token").count - 1 == 1, "\(server.output)")

        let open = try CommandLineTests.run(["serve", index, "--listen", "0.0.0.0:0"])
        #expect(open.status != 0 && open.error.contains("loopback only"), "\(open.error)")
        let short = try CommandLineTests.run(["serve", index, "--token", "abcdefghijklmno"])
        #expect(short.status != 0 && short.error.contains("at least 16 characters"), "\(short.error)")
    }

    @Test("100 concurrent clients for 3 seconds: every answer right, no error")
    func concurrentClients() async throws {
        let temporary = try TemporaryDirectory()
        let index = try Self.makeIndex(in: temporary.path)
        let (server, base) = try Self.start(index)
        defer { server.stop() }
        let expected = try await Self.post(base + "/similar", #"{"text": "user interface system", "top": 5}"#).body
        let deadline = ContinuousClock.now + .seconds(3)
        let (answers, failures) = await withTaskGroup(of: (Int, [String]).self) { group in
            for client in 0..<100 {
                group.addTask {
                    var answered = 0, failures: [String] = []
                    while ContinuousClock.now < deadline {
                        do {
                            let reply = client % 2 == 0
                                ? try await Self.post(base + "/similar", #"{"text": "user interface system", "top": 5}"#)
                                : try await Self.request(base + "/health")
                            if reply.status != 200 || (client % 2 == 0 && reply.body != expected) {
                                failures.append("\(reply.status) \(reply.body.prefix(100))")
                            }
                            answered += 1
                        } catch {
                            failures.append("\(error)")
                        }
                    }
                    return (answered, failures)
                }
            }
            var total = 0, all: [String] = []
            for await (answered, failures) in group {
                total += answered
                all += failures
            }
            return (total, all)
        }
        #expect(failures.isEmpty, "\(failures.count) failures, e.g. \(failures.prefix(3))")
        #expect(answers >= 100, "only \(answers) answers")
        print("100 clients: \(answers) answers in 3 s, \(failures.count) failures")
        #expect(server.isRunning)
    }

    @Test("SIGTERM: the request in flight is answered, then the server exits 0")
    func gracefulShutdown() async throws {
        let temporary = try TemporaryDirectory()
        let index = try Self.makeIndex(in: temporary.path)
        let (server, base) = try Self.start(index, [], environment: ["LATENT_TEST_REQUEST_DELAY_MS": "1500"])
        defer { server.stop() }
        async let reply = Self.post(base + "/similar", #"{"text": "graph", "top": 2}"#)
        try server.waitFor("POST /similar: ")
        server.kill(SIGTERM)
        let answered = try await reply
        #expect(answered.status == 200 && answered.body.contains("\"document\""), "\(answered.status) \(answered.body)")
        #expect(server.waitForExit(timeout: 20) == 0, "\(server.output)")
        #expect(server.output.contains("stopped"))
    }
}
