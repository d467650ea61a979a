import ArgumentParser
import Foundation
import Latent
import LatentServer
import Logging

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve similarity queries over HTTP, with a web page to explore the index and its model.",
        discussion: """
            JSON API: POST /similar with {"text": ...}, {"document": N}, {"vector": [...]}, {"sparse": [[id, value], ...]} \
            or {"vectors": [[...], ...]}, and optionally "top" and "order" ("similarity", or "magnitude" as gensim); \
            the answer is [{"document": 12, "score": 0.93, "title": "..."}, ...] (an array of those for "vectors"). \
            POST /project {"text": ...}; GET /topics, /topics/view, /documents/N, /health, /metrics (Prometheus). \
            The web page is at /.

            Without a token the server listens on loopback only (unless --insecure). With a token (--token-file, \
            LATENT_SERVE_TOKEN, or --token, which other users can read in `ps`), every request but the page needs \
            `Authorization: Bearer TOKEN`; the page asks for it. Bad requests get a JSON error and the \
            server goes on; SIGTERM or Ctrl-C lets requests in flight finish, then stops.

            Examples:
              latent serve docs.index                         # http://127.0.0.1:7960/
              curl -s localhost:7960/similar -d '{"text": "graph minors trees", "top": 3}'
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Index folder.") var index: String
    @Option(help: "Address to listen on (port 0: any free port).") var listen: String = "127.0.0.1:7960"
    @Option(help: "Token every API request must carry, at least 16 characters (default: LATENT_SERVE_TOKEN; visible in `ps`: prefer --token-file).") var token: String?
    @Option(help: "File whose first line is the token.") var tokenFile: String?
    @Flag(help: "Allow listening beyond loopback without a token (trusted networks only).") var insecure = false
    @Option(help: "Largest request body, in bytes.") var maxRequestBytes: Int = 1 << 20
    @Option(help: "Where the index's vocabulary is now.") var vocab: String?
    @Option(help: "Where the index's TF-IDF model is now.") var tfidf: String?
    @Option(help: "Where the index's topic model is now.") var model: String?

    func validate() throws {
        if maxRequestBytes < 1024 { throw ValidationError("--max-request-bytes must be at least 1024, got \(maxRequestBytes)") }
    }

    func run() async throws {
        let logger = try global.makeLogger(label: "latent.serve")
        let secret = try secretToken(flag: token, file: tokenFile, environment: "LATENT_SERVE_TOKEN", logger: logger)
        OpenFiles.raiseLimit(logger: logger)
        let address = try ClusterAddress(parsing: listen, field: "--listen")
        let similarity = try SimilarityIndex(contentsOf: index)
        let service = QueryService(index: similarity, sources: IndexSources(vocabulary: vocab, tfidf: tfidf, model: model))
        var options = QueryServer.Options(host: address.host, port: address.port, token: secret, insecure: insecure,
                                          maxBodyBytes: maxRequestBytes)
        options.testDelayMilliseconds = Int(ProcessInfo.processInfo.environment["LATENT_TEST_REQUEST_DELAY_MS"] ?? "") ?? 0
        let server: QueryServer
        do {
            server = try QueryServer(service: service, options: options, logger: logger)
        } catch let error as QueryError {
            throw ValidationError(error.message)
        }
        if let problem = service.textProblem { logger.warning("texts cannot be queries: \(problem)") }
        // The server stops gracefully on SIGTERM and SIGINT itself; it writes no output to clean up.
        Interrupts.stopHandling()
        let access = secret == nil ? "no token" : "token required"
        try await server.run { bound in
            logger.info("serving \(similarity.documentCount) documents of \(index) on http://\(bound)/ (\(access))")
        }
        logger.info("stopped")
    }
}

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a model's topics as one self-contained HTML file (inline SVG), to share without a server.",
        discussion: """
            For an LSI model: the singular values as a plot and each topic's top terms with their weights; \
            for LDA: each topic's most probable terms as bars (the first \(TopicViews.maxTopics) topics).

            Example:
              latent report docs.lsi --out docs.lsi.html
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "LSI or LDA model folder.") var model: String
    @Option(help: "HTML file to write.") var out: String
    @Option(help: "Terms per topic.") var terms: Int = 10
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if terms < 1 || terms > 100 { throw ValidationError("--terms must be 1 to 100, got \(terms)") }
        if !(out.hasSuffix(".html") || out.hasSuffix(".htm")) { throw ValidationError("--out \(out): expected an .html file") }
    }

    func run() async throws {
        let logger = try global.makeLogger(label: "latent.report")
        try output.checkFile(out, kind: .htmlReport, inputs: [model])
        let views: TopicViews
        switch try ModelFolder.kind(at: model) {
        case "lsi": views = TopicViews(lsi: try LSIModel(contentsOf: model), terms: terms)
        case "lda": views = TopicViews(lda: try LDAModel(contentsOf: model), terms: terms)
        case let kind: throw ValidationError("\(model) is a \(kind) model; a report needs an LSI or LDA model")
        }
        let file = try AtomicFileWriter(path: out, kind: .htmlReport, replacing: output.replacing)
        try file.write(views.reportDocument(title: "Topics of \((model as NSString).lastPathComponent)"))
        try file.commit()
        logger.info("wrote the \(views.topics.count) topics of \(model) to \(out)")
    }
}
