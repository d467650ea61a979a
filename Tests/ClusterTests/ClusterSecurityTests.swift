import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Latent
@testable import LatentCluster
import TestSupport
import Synchronization
import Testing

@Suite("cluster security", .serialized, .timeLimit(.minutes(5)))
struct ClusterSecurityTests {
    @Test("a wrong or missing token is rejected on every call; the right one is accepted")
    func token() throws {
        let cluster = TestCluster(common: ["--token", "right-token-0123456789"])
        defer { cluster.stop() }
        try cluster.startDispatcher()
        for arguments in [["--token", "wrong-token-0123456789"], []] {
            let status = try runProcess(TestCluster.binary, ["status", "--dispatcher", cluster.address] + arguments)
            #expect(status.status == 1 && status.error.contains("wrong or missing cluster token"), "\(status.error)")
        }
        let worker = try ChildProcess("worker", TestCluster.binary,
                                      ["worker", "--dispatcher", cluster.address, "--token", "wrong-token-0123456789"])
        #expect(worker.waitForExit(timeout: 10) == 1)
        #expect(worker.output.contains("refused this worker: wrong or missing cluster token"), "\(worker.output)")
        let run = try runProcess(TestCluster.binary, ["example", "--documents", "100", "--distributed", "required",
                                                      "--dispatcher", cluster.address, "--token", "wrong-token-0123456789"])
        #expect(run.status == 1 && run.error.contains("the dispatcher at \(cluster.address) refused the token"), "\(run.error)")
        // In automatic mode a refusal is said (a dispatcher did answer), and the run goes on in-process.
        let automatic = try runProcess(TestCluster.binary, ["example", "--documents", "100", "--dispatcher", cluster.address])
        #expect(automatic.status == 0, "\(automatic.error)")
        #expect(automatic.error.contains("WARNING : the dispatcher at \(cluster.address) requires a cluster token"),
                "\(automatic.error)")
        let wrong = try runProcess(TestCluster.binary, ["example", "--documents", "100", "--dispatcher", cluster.address,
                                                        "--token", "wrong-token-0123456789"])
        #expect(wrong.status == 0, "\(wrong.error)")
        #expect(wrong.error.contains("WARNING : the dispatcher at \(cluster.address) refused the token; training in-process"),
                "\(wrong.error)")

        try cluster.startWorker(expectedID: 1)
        let good = try runProcess(TestCluster.binary, ["status", "--dispatcher", cluster.address, "--token", "right-token-0123456789"])
        #expect(good.status == 0 && good.output.contains("1 worker"), "\(good.error)")
    }

    @Test("1,000 calls with a wrong token: refused, and logged once with the peer; a worker named with a newline and escape sequences is shown sanitised in the log and in latent status")
    func refusalsLoggedAndNamesSanitised() async throws {
        let cluster = TestCluster(common: ["--token", "right-token-0123456789"])
        defer { cluster.stop() }
        let dispatcher = try cluster.startDispatcher()
        let security = ClusterSecurity(token: "wrong-token-0123456789")
        let address = try ClusterAddress(parsing: cluster.address, field: "test")
        var refused = 0
        try await Transport.withDispatcher(address, security: security) { client in
            await withTaskGroup(of: Bool.self) { group in
                for batch in 0..<10 {
                    group.addTask {
                        var count = 0
                        for _ in 0..<100 {
                            do {
                                _ = try await client.heartbeat(.with { $0.workerID = UInt64(batch) }, options: Transport.callOptions())
                            } catch let error as RPCError where error.code == .unauthenticated {
                                count += 1
                            } catch {}
                        }
                        return count == 100
                    }
                }
                for await allRefused in group where allRefused { refused += 100 }
            }
        }
        #expect(refused == 1000)
        try dispatcher.waitFor("a call with a wrong token from ipv4:127.0.0.1:")
        let lines = dispatcher.output.components(separatedBy: "\n").filter { $0.contains("refused a call with a wrong token") }
        #expect(lines.count == 1, "\(lines)")

        let hostile = "evil\n2026-12-03 00:00:00,000 : INFO : forged line\u{1b}[2J\u{1b}]0;title\u{07}\u{202e}"
        let worker = try ChildProcess("worker", TestCluster.binary, ["worker", "--dispatcher", cluster.address, "--token", "right-token-0123456789",
                                                                     "--name", hostile])
        defer { worker.stop() }
        try dispatcher.waitFor("worker #1 registered: ")
        let log = dispatcher.output
        #expect(!log.contains("\n2026-12-03 00:00:00,000 : INFO : forged line") && !log.contains("\u{1b}"), "\(log)")
        #expect(log.contains("registered: evil\\u{a}2026-12-03 00:00:00,000 : INFO : forged line\\u{1b}[2J"), "\(log)")
        let status = try runProcess(TestCluster.binary, ["status", "--dispatcher", cluster.address, "--token", "right-token-0123456789"])
        #expect(status.status == 0 && !status.output.contains("\u{1b}") && !status.output.contains("\u{202e}")
                && status.output.contains("evil\\u{a}2026"), "\(status.output)")
    }

    @Test("beyond loopback: no token needs --insecure, a plaintext token needs --insecure-plaintext-token; a short token is refused; --token-file and the environment carry it, --token is warned about")
    func loopbackOnly() throws {
        let temporary = try TemporaryDirectory()
        let refused = try runProcess(TestCluster.binary, ["dispatcher", "--listen", "0.0.0.0:0"])
        #expect(refused.status == 1, "\(refused.error)")
        #expect(refused.error.contains("refusing to listen on 0.0.0.0:0 without a token"), "\(refused.error)")
        let plaintext = try runProcess(TestCluster.binary, ["dispatcher", "--listen", "0.0.0.0:0", "--token", "plaintext-token-0123"])
        #expect(plaintext.status == 1 && plaintext.error.contains("refusing to take a token in plaintext on 0.0.0.0:0"), "\(plaintext.error)")
        let short = try runProcess(TestCluster.binary, ["dispatcher", "--listen", "127.0.0.1:0", "--token", "fifteen-chars-x"])
        #expect(short.status != 0 && short.error.contains("at least 16 characters, got 15"), "\(short.error)")
        try "file-token-0123456789\n".write(toFile: temporary.path + "/token", atomically: true, encoding: .utf8)
        for extra in [["--insecure"], ["--token", "plaintext-token-0123", "--insecure-plaintext-token"],
                      ["--token-file", temporary.path + "/token", "--insecure-plaintext-token"]] {
            let dispatcher = try ChildProcess("dispatcher", TestCluster.binary, ["dispatcher", "--listen", "0.0.0.0:0"] + extra)
            defer { dispatcher.stop() }
            let output = try dispatcher.waitFor("latent dispatcher listening on 0.0.0.0:")
            #expect(output.contains("visible to every user of this machine (ps)") == (extra.first == "--token"), "\(output)")
        }
        // The token from the file and from the environment opens the same door.
        let cluster = TestCluster(common: ["--token-file", temporary.path + "/token"])
        defer { cluster.stop() }
        try cluster.startDispatcher()
        let fromFile = try runProcess(TestCluster.binary, ["status", "--dispatcher", cluster.address, "--token-file", temporary.path + "/token"])
        #expect(fromFile.status == 0 && !fromFile.error.contains("visible"), "\(fromFile.error)")
        let environment = try runProcess("/usr/bin/env", ["LATENT_CLUSTER_TOKEN=file-token-0123456789", TestCluster.binary, "status",
                                                          "--dispatcher", cluster.address])
        #expect(environment.status == 0, "\(environment.error)")
    }

    /// A self-signed certificate for 127.0.0.1 (or `name`), made with openssl.
    static func makeCertificate(in directory: String, name: String? = nil) throws -> (certificate: String, key: String) {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let certificate = directory + "/cert.pem", key = directory + "/key.pem"
        let result = try runProcess("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", certificate, "-days", "2", "-subj", "/CN=\(name ?? "127.0.0.1")",
            "-addext", name.map { "subjectAltName=DNS:\($0)" } ?? "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ])
        guard result.status == 0 else { throw ChildProcessError("openssl failed: \(result.error)") }
        return (certificate, key)
    }

    @Test("TLS and mutual TLS with a self-signed certificate made by the test")
    func tls() throws {
        let temporary = try TemporaryDirectory()
        let directory = temporary.path
        let (certificate, key) = try Self.makeCertificate(in: directory)
        let example = ["example", "--documents", "1000", "--chunk-size", "100", "--distributed", "required", "--token", "tls-token-0123456789"]

        // TLS: clients and workers trust the dispatcher's certificate.
        do {
            let cluster = TestCluster(common: ["--token", "tls-token-0123456789", "--tls-cert", certificate, "--tls-key", key],
                                      clientCommon: ["--token", "tls-token-0123456789", "--tls-ca", certificate])
            defer { cluster.stop() }
            try cluster.startDispatcher()
            try cluster.startWorker(expectedID: 1)
            let run = try runProcess(TestCluster.binary, example + ["--dispatcher", cluster.address, "--tls-ca", certificate])
            #expect(run.status == 0, "\(run.error)")
            #expect(run.output.contains(#"0.644*"system" + 0.404*"user""#), "\(run.output)")
            #expect(run.error.contains("using distributed version with 1 worker"), "\(run.error)")
            #expect(cluster.dispatcher?.output.contains("(TLS, token required)") == true)
            let plaintext = try runProcess(TestCluster.binary, example + ["--dispatcher", cluster.address])
            #expect(plaintext.status == 1, "\(plaintext.error)")
            #expect(plaintext.error.contains("a server listens at \(cluster.address) but did not answer as a dispatcher"), "\(plaintext.error)")
            #expect(plaintext.error.contains("if it is a TLS dispatcher, give its CA certificate with --tls-ca"), "\(plaintext.error)")
            // A CA that did not sign the dispatcher's certificate: said, and in automatic mode a warning.
            let (otherCA, _) = try Self.makeCertificate(in: directory + "/other")
            let automatic = ["example", "--documents", "100", "--token", "tls-token-0123456789", "--dispatcher", cluster.address, "--tls-ca", otherCA]
            let wrongCA = try runProcess(TestCluster.binary, automatic)
            #expect(wrongCA.status == 0, "\(wrongCA.error)")
            // Which certificate, and what is wrong with it.
            #expect(wrongCA.error.contains("WARNING : the TLS connection to the dispatcher at \(cluster.address) failed: the dispatcher's certificate (CN=127.0.0.1; for 127.0.0.1, localhost; serial "),
                    "\(wrongCA.error)")
            #expect(wrongCA.error.contains("does not verify against the CA in \(otherCA) (--tls-ca)"), "\(wrongCA.error)")
            let status = try runProcess(TestCluster.binary, ["status", "--dispatcher", cluster.address, "--token", "tls-token-0123456789",
                                                             "--tls-ca", otherCA])
            #expect(status.status == 1 && status.error.contains("does not verify against the CA in \(otherCA)"), "\(status.error)")
            // Nothing listening at all is not a TLS matter (and the probe does not crash on it).
            let nobody = try runProcess(TestCluster.binary, ["status", "--dispatcher", "127.0.0.1:\(try freeLoopbackPort())",
                                                             "--tls-ca", certificate])
            #expect(nobody.status == 1 && nobody.error.contains("no dispatcher answered at 127.0.0.1:"), "\(nobody.error)")
        }

        // A certificate for another name than the one dialled.
        do {
            let (elsewhere, elsewhereKey) = try Self.makeCertificate(in: directory + "/elsewhere", name: "elsewhere.example")
            let cluster = TestCluster(common: ["--token", "tls-token-0123456789", "--tls-cert", elsewhere, "--tls-key", elsewhereKey])
            defer { cluster.stop() }
            try cluster.startDispatcher()
            let run = try runProcess(TestCluster.binary, example + ["--dispatcher", cluster.address, "--tls-ca", elsewhere])
            #expect(run.status == 1, "\(run.error)")
            #expect(run.error.contains("the dispatcher's certificate (CN=elsewhere.example; for elsewhere.example; serial "), "\(run.error)")
            #expect(run.error.contains("is not for 127.0.0.1, the address dialled"), "\(run.error)")
        }

        // Mutual TLS: the dispatcher also requires a client certificate it trusts.
        do {
            let mutual = ["--tls-cert", certificate, "--tls-key", key, "--tls-ca", certificate]
            let cluster = TestCluster(common: ["--token", "tls-token-0123456789"] + mutual)
            defer { cluster.stop() }
            try cluster.startDispatcher()
            try cluster.startWorker(expectedID: 1)
            #expect(cluster.dispatcher?.output.contains("(mutual TLS, token required)") == true)
            let run = try runProcess(TestCluster.binary, example + ["--dispatcher", cluster.address] + mutual)
            #expect(run.status == 0, "\(run.error)")
            #expect(run.output.contains(#"0.623*"graph" + 0.490*"trees""#), "\(run.output)")
            let anonymous = try runProcess(TestCluster.binary, example + ["--dispatcher", cluster.address, "--tls-ca", certificate])
            #expect(anonymous.status == 1, "a client without a certificate was let in: \(anonymous.error)")
        }
    }

    // MARK: Malformed messages

    /// The parameters of a one-pass LSI stage over 12 terms, in the portable encoding.
    static func onePassParameters(terms: Int = 12) -> [UInt8] {
        var writer = PortableWriter()
        for value in [terms, 10, 10, 2] { writer.write(value) }
        writer.write(1.0)
        writer.write(UInt64(0))
        writer.write(0)
        return writer.bytes
    }

    static func chunk(weight: Double = 1, term: Int32 = 3) -> [UInt8] {
        var chunk = SparseChunk()
        chunk.appendEntry(term: 1, weight: 0.5)
        chunk.appendEntry(term: term, weight: weight)
        chunk.finishDocument()
        return chunk.portableBytes()
    }

    /// A partial state: a rank-1 LSI projection over 12 terms with the given values.
    static func state(singularValue: Double, basisColumns: Int = 12) -> [UInt8] {
        var writer = PortableWriter()
        writer.write(1)
        writer.write(1)
        writer.write(array: [singularValue])
        var row = [Double](repeating: 0, count: basisColumns)
        row[0] = 1
        writer.write(Matrix<Double>(rows: 1, columns: basisColumns, columnMajor: row))
        return writer.bytes
    }

    static func expectRejected(_ what: String, _ code: RPCError.Code = .invalidArgument, containing needle: String,
                               _ call: () async throws -> Void) async {
        do {
            try await call()
            Issue.record("\(what) was accepted")
        } catch let error as RPCError {
            #expect(error.code == code, "\(what): \(error)")
            #expect(error.message.contains(needle), "\(what): \(error.message)")
        } catch {
            Issue.record("\(what): \(error)")
        }
    }

    @Test("a chunk declaring 16 GiB for a run that does not exist is refused at its header, twice, logged once; the dispatcher's peak memory stays under 300 MiB")
    func declaredSizeRefusedAtHeader() async throws {
        let cluster = TestCluster()
        defer { cluster.stop() }
        let dispatcher = try cluster.startDispatcher()
        let address = ClusterAddress(host: "127.0.0.1", port: cluster.port)
        let block = Data(repeating: 7, count: ClusterLimits.blockSize)
        try await Transport.withDispatcher(address, security: ClusterSecurity()) { client in
            for attempt in 0..<2 {
                await Self.expectRejected("16 GiB for run #999 (attempt \(attempt + 1))", .notFound, containing: "which is not open") {
                    _ = try await Transport.upload({ try await client.submitChunk(options: Transport.callOptions(timeout: .seconds(30)), requestProducer: $0, onResponse: $1) }) { writer in
                        try await writer.write(.with {
                            $0.header = .with {
                                $0.size = 16 << 30
                                $0.chunk = .with { $0.runID = 999; $0.stage = 1; $0.documents = 1 }
                            }
                        })
                        for _ in 0..<1024 { try await writer.write(.with { $0.block = block }) }
                    }
                }
            }
        }
        let status = try String(contentsOfFile: "/proc/\(dispatcher.processIdentifier)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") })
        let peakKB = try #require(Int(line.split(separator: " ").dropFirst().first ?? ""))
        #expect(peakKB < 300 * 1024, "the dispatcher's peak RSS reached \(peakKB) kB")
        try dispatcher.waitFor("which is not open")
        let logged = dispatcher.output.components(separatedBy: "\n").filter { $0.contains("a chunk for run #999") }
        #expect(logged.count == 1, "\(logged)")
        #expect(logged.first?.contains("from ipv4:127.0.0.1:") == true)
        print("peak RSS of the dispatcher: \(peakKB) kB")
    }

    @Test("an upload refused at its header writes nothing once the answer has come: 200 refusals with blocks still to send (grpc-swift asserts on a message that meets a closed stream)")
    func refusedUploadStopsWriting() async throws {
        let cluster = TestCluster()
        defer { cluster.stop() }
        _ = try cluster.startDispatcher()
        let address = ClusterAddress(host: "127.0.0.1", port: cluster.port)
        let block = Data(repeating: 7, count: ClusterLimits.blockSize)
        // 8 GiB a request: seconds of writing even at loopback speed, so every writer is
        // still at work when the refusal comes; once it has come, none writes on.
        let blocks = 8192
        var written: [Int] = []
        try await Transport.withDispatcher(address, security: ClusterSecurity()) { client in
            for attempt in 0..<200 {
                let count = Mutex(0)
                await Self.expectRejected("a chunk for run #999 (attempt \(attempt + 1))", .notFound, containing: "which is not open") {
                    _ = try await Transport.upload({
                        try await client.submitChunk(options: Transport.callOptions(timeout: .seconds(30)), requestProducer: $0, onResponse: $1)
                    }) { writer in
                        try await writer.write(.with {
                            $0.header = .with {
                                $0.size = UInt64(blocks * ClusterLimits.blockSize)
                                $0.chunk = .with { $0.runID = 999; $0.stage = 1; $0.documents = 1 }
                            }
                        })
                        for _ in 0..<blocks {
                            try await writer.write(.with { $0.block = block })
                            count.withLock { $0 += 1 }
                        }
                    }
                }
                written.append(count.withLock { $0 })
            }
        }
        #expect(written.allSatisfy { $0 < blocks }, "blocks written per refused request: \(written)")
        print("blocks written before the refusal stopped the writer: at most \(written.max() ?? 0) of \(blocks)")
    }

    @Test("malformed and hostile messages get error statuses, a second client is refused, and the dispatcher keeps serving")
    func malformed() async throws {
        let cluster = TestCluster()
        defer { cluster.stop() }
        let dispatcher = try cluster.startDispatcher()
        let address = ClusterAddress(host: "127.0.0.1", port: cluster.port)
        try await Transport.withDispatcher(address, security: ClusterSecurity()) { client in
            let options = Transport.callOptions(timeout: .seconds(10))
            let registration = try await client.register(.with { $0.name = "fake"; $0.threads = 1; $0.protocolVersion = ClusterProtocol.version }, options: options)
            let worker = registration.workerID
            #expect(registration.protocolVersion == ClusterProtocol.version)
            await Self.expectRejected("zero threads", containing: "expected 1 to 4096 threads") {
                _ = try await client.register(.with { $0.name = "bad"; $0.threads = 0; $0.protocolVersion = ClusterProtocol.version }, options: options)
            }
            // A worker of another Latent: one from before versions (0), one newer.
            await Self.expectRejected("a worker of version 0", .failedPrecondition,
                                      containing: "worker 'old' (ipv4:127.0.0.1:") {
                _ = try await client.register(.with { $0.name = "old"; $0.threads = 1 }, options: options)
            }
            await Self.expectRejected("a worker of a newer version", .failedPrecondition,
                                      containing: "speaks version \(ClusterProtocol.version + 1) of the cluster protocol (a newer Latent), this dispatcher version \(ClusterProtocol.version)") {
                _ = try await client.register(.with { $0.name = "new"; $0.threads = 1; $0.protocolVersion = ClusterProtocol.version + 1 }, options: options)
            }
            #expect(try await client.status(.init(), options: options).protocolVersion == ClusterProtocol.version)
            // The first refusal of the minute is logged, naming the worker and both versions.
            let refusal = try dispatcher.waitFor("refused to register: worker 'old'")
            #expect(refusal.contains("speaks version 0 of the cluster protocol (a Latent from before protocol versions, older than this one), this dispatcher version \(ClusterProtocol.version)"), "\(refusal.suffix(2000))")

            // A run held open by this test, as a client would.
            let opened = AsyncStream<UInt64>.makeStream()
            let run = Task {
                try await client.openRun(.with {
                    $0.client = "test"
                    $0.kind = "lsi"
                    $0.description_p = "a test run"
                    $0.protocolVersion = ClusterProtocol.version
                }, options: Transport.callOptions()) { response in
                    for try await event in response.messages {
                        if case .opened(let value)? = event.event { opened.continuation.yield(value.runID) }
                    }
                }
            }
            defer { run.cancel() }
            var iterator = opened.stream.makeAsyncIterator()
            let runID = try #require(await iterator.next())

            await Self.expectRejected("a second client", .resourceExhausted, containing: "busy with run #\(runID)") {
                try await client.openRun(.with { $0.client = "second"; $0.kind = "lsi"; $0.protocolVersion = ClusterProtocol.version }, options: options) { response in
                    for try await _ in response.messages {}
                }
            }
            await Self.expectRejected("an unknown run kind", containing: "unknown run kind 'rm -rf'") {
                try await client.openRun(.with { $0.kind = "rm -rf"; $0.protocolVersion = ClusterProtocol.version }, options: options) { response in
                    for try await _ in response.messages {}
                }
            }
            await Self.expectRejected("a client of version 0", .failedPrecondition,
                                      containing: "the client old (ipv4:127.0.0.1:") {
                try await client.openRun(.with { $0.client = "old"; $0.kind = "lsi" }, options: options) { response in
                    for try await _ in response.messages {}
                }
            }
            await Self.expectRejected("oversized run parameters", containing: "parameters of at most 1 MiB") {
                try await client.openRun(.with { $0.kind = "lsi"; $0.parameters = Data(count: (1 << 20) + 1); $0.protocolVersion = ClusterProtocol.version }, options: options) { response in
                    for try await _ in response.messages {}
                }
            }

            func startStage(kind: String, parameters: [UInt8], declared: UInt64? = nil, stage: UInt64 = 1) async throws {
                _ = try await Transport.upload({ try await client.startStage(options: options, requestProducer: $0, onResponse: $1) }) { writer in
                    try await writer.write(.with {
                        $0.header = .with {
                            $0.size = declared ?? UInt64(parameters.count)
                            $0.stage = .with { $0.runID = runID; $0.stage = stage; $0.computation = kind }
                        }
                    })
                    try await writer.write(.with { $0.block = Data(parameters) })
                }
            }
            await Self.expectRejected("an unknown computation", containing: "expected one of") {
                try await startStage(kind: "rm -rf", parameters: Self.onePassParameters())
            }
            await Self.expectRejected("a huge declared size", containing: "over the limit") {
                try await startStage(kind: "lsi.one-pass.float64", parameters: [1], declared: 1 << 50)
            }
            await Self.expectRejected("zero terms", containing: "term count: expected a value in 1...") {
                try await startStage(kind: "lsi.one-pass.float64", parameters: Self.onePassParameters(terms: 0))
            }
            await Self.expectRejected("truncated parameters", containing: "expected 8 more bytes") {
                try await startStage(kind: "lsi.one-pass.float64", parameters: Array(Self.onePassParameters().dropLast(3)))
            }
            await Self.expectRejected("a stage out of order", containing: "expected stage 1 next") {
                try await startStage(kind: "lsi.one-pass.float64", parameters: Self.onePassParameters(), stage: 5)
            }
            try await startStage(kind: "lsi.one-pass.float64", parameters: Self.onePassParameters())
            await Self.expectRejected("a stage started twice", .alreadyExists, containing: "expected stage 2 next") {
                try await startStage(kind: "lsi.one-pass.float64", parameters: Self.onePassParameters())
            }

            func submit(_ payload: [UInt8], documents: UInt64 = 1, declared: UInt64? = nil, index: UInt64 = 0) async throws {
                _ = try await Transport.upload({ try await client.submitChunk(options: options, requestProducer: $0, onResponse: $1) }) { writer in
                    try await writer.write(.with {
                        $0.header = .with {
                            $0.size = declared ?? UInt64(payload.count)
                            $0.chunk = .with { $0.runID = runID; $0.stage = 1; $0.chunkIndex = index; $0.documents = documents }
                        }
                    })
                    try await writer.write(.with { $0.block = Data(payload) })
                }
            }
            await Self.expectRejected("a NaN weight", containing: "finite weights, got nan") { try await submit(Self.chunk(weight: .nan)) }
            await Self.expectRejected("a term beyond the vocabulary", containing: "ascending ids below 12") {
                try await submit(Self.chunk(term: 99))
            }
            await Self.expectRejected("a wrong document count", containing: "the header says") { try await submit(Self.chunk(), documents: 5) }
            await Self.expectRejected("a huge declared chunk", containing: "over the limit") { try await submit(Self.chunk(), declared: 1 << 60) }
            await Self.expectRejected("fewer bytes than declared", containing: "were declared") {
                try await submit(Self.chunk(), declared: UInt64(Self.chunk().count + 10))
            }
            try await submit(Self.chunk())

            // The fake worker takes the job and returns hostile states.
            let job = try await client.takeJob(.with { $0.workerID = worker; $0.dispatcherEpoch = registration.dispatcherEpoch },
                                               options: options) { response in
                var header: Latent_Cluster_V1_JobHeader?
                for try await part in response.messages { if case .job(let value)? = part.header.about { header = value } }
                return header
            }
            let jobID = try #require(job?.jobID)
            #expect(jobID > 0)
            func returnState(_ payload: [UInt8]) async throws {
                _ = try await Transport.upload({ try await client.returnResult(options: options, requestProducer: $0, onResponse: $1) }) { writer in
                    try await writer.write(.with {
                        $0.header = .with {
                            $0.size = UInt64(payload.count)
                            $0.result = .with {
                                $0.workerID = worker; $0.runID = runID; $0.stage = 1; $0.jobID = jobID
                                $0.dispatcherEpoch = registration.dispatcherEpoch
                            }
                        }
                    })
                    try await writer.write(.with { $0.block = Data(payload) })
                }
            }
            await Self.expectRejected("a NaN singular value", containing: "finite, non-negative") {
                try await returnState(Self.state(singularValue: .nan))
            }
            await Self.expectRejected("a basis of the wrong shape", containing: "1 x 12 (factors x terms), got 1 x 13") {
                try await returnState(Self.state(singularValue: 1, basisColumns: 13))
            }
            await Self.expectRejected("a chunk's header on a result", containing: "the header does not describe a result") {
                _ = try await Transport.upload({ try await client.returnResult(options: options, requestProducer: $0, onResponse: $1) }) { writer in
                    try await writer.write(.with { $0.header = .with { $0.size = 0; $0.chunk = .with { $0.runID = runID } } })
                }
            }
            await Self.expectRejected("a block before the header", containing: "result: a block before the header") {
                _ = try await Transport.upload({ try await client.returnResult(options: options, requestProducer: $0, onResponse: $1) }) { writer in try await writer.write(.with { $0.block = Data([1]) }) }
            }

            // A state stamped by another dispatcher instance is refused, ids notwithstanding.
            let stale = try await Transport.upload({ try await client.returnResult(options: options, requestProducer: $0, onResponse: $1) }) { writer in
                try await sendPayload(Self.state(singularValue: 2), header: .with {
                    $0.result = .with {
                        $0.workerID = worker; $0.runID = runID; $0.stage = 1; $0.jobID = jobID
                        $0.dispatcherEpoch = registration.dispatcherEpoch &+ 1
                    }
                }, to: writer)
            }
            #expect(!stale.accepted)

            // Still serving: the status answers and a well-formed state is merged.
            let status = try await client.status(.init(), options: options)
            #expect(status.runID == runID && status.jobsLeased == 1)
            try await returnState(Self.state(singularValue: 2))
            _ = try await client.endStage(.with { $0.runID = runID; $0.stage = 1; $0.chunks = 1 }, options: options)
            #expect(try await client.status(.init(), options: options).jobsDone == 1)
        }
        #expect(dispatcher.isRunning)
        #expect(dispatcher.output.contains("stage 1 complete: merged the states of 1 jobs from 1 worker"), "\(dispatcher.output)")
    }
}
