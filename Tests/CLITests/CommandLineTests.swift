import Foundation
import Latent
import TestSupport
import Testing

/// The `latent` binary run as a user would: real files in, files and exit codes out.
@Suite("latent command line", .timeLimit(.minutes(3)))
struct CommandLineTests {
    /// The built `latent`, beside the test bundle.
    static var binary: String {
        let products = Bundle.main.bundleURL.path
        return products + "/latent"
    }

    static func run(_ arguments: [String]) throws -> ProcessResult {
        try runProcess(binary, arguments)
    }

    @Test("corpus -> tfidf -> convert -> info on the Deerwester titles")
    func pipeline() throws {
        let temporary = try TemporaryDirectory()
        let dir = temporary.path
        let titles = DeerwesterExample.titles.joined(separator: "\n")
        try titles.write(toFile: dir + "/t.txt", atomically: true, encoding: .utf8)
        try "for\na\nof\nthe\nand\nto\nin\n".write(toFile: dir + "/stop.txt", atomically: true, encoding: .utf8)
        var result = try Self.run(["corpus", dir + "/t.txt", "--out", dir + "/d", "--stopwords", dir + "/stop.txt",
                                   "--no-below", "2", "--no-above", "1.0"])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.error.contains(" : INFO : "))
        let vocab = try String(contentsOfFile: dir + "/d.vocab", encoding: .utf8)
        #expect(vocab.hasPrefix("9\n") && vocab.split(separator: "\n").count == 13, "\(vocab)")
        result = try Self.run(["tfidf", dir + "/d.mm", "--out", dir + "/d.tfidf.mm", "--model", dir + "/tfidf"])
        #expect(result.status == 0, "\(result.error)")
        #expect(FileManager.default.fileExists(atPath: dir + "/tfidf/idfs.npy"))
        result = try Self.run(["convert", dir + "/d.tfidf.mm", dir + "/d.lbc"])
        #expect(result.status == 0, "\(result.error)")
        result = try Self.run(["info", dir + "/d.lbc"])
        #expect(result.status == 0)
        #expect(result.output.contains("documents: 9\nterms: 12\n"), "\(result.output)")
    }

    @Test("bad input is one clear line and exit code 1; usage errors exit 64")
    func errors() throws {
        let temporary = try TemporaryDirectory()
        let dir = temporary.path
        try "%%MatrixMarket matrix coordinate real general\n2 2 1\n1 3 1\n".write(toFile: dir + "/bad.mm", atomically: true, encoding: .utf8)
        var result = try Self.run(["info", dir + "/bad.mm"])
        #expect(result.status == 1)
        #expect(result.error.contains("latent: error: \(dir)/bad.mm:3: term 3 outside 1...2"), "\(result.error)")
        result = try Self.run(["info", dir + "/missing.mm"])
        #expect(result.status == 1 && result.error.contains("cannot open"))
        result = try Self.run(["selfcheck", "--log-level", "loud"])
        #expect(result.status == 64 && result.error.contains("unknown level 'loud'"))
        result = try Self.run(["--version"])
        #expect(result.status == 0 && !result.output.isEmpty)
    }

    @Test("latent starts itself again with OpenBLAS's thread timeout and huge pages set, keeping what the user set")
    func startupTuning() throws {
        let temporary = try TemporaryDirectory()
        let corpus = temporary.path + "/c.mm"
        try "%%MatrixMarket matrix coordinate real general\n1 2 1\n1 2 0.5\n".write(toFile: corpus, atomically: true, encoding: .utf8)
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        func settings(_ environment: [String: String]) throws -> String {
            let result = try runProcess(Self.binary, ["info", corpus, "--log-level", "debug"], environment: environment.merging(["PATH": path]) { a, _ in a })
            #expect(result.status == 0, "\(result.error)")
            return result.error.split(separator: "\n").first { $0.contains("started with") }.map(String.init) ?? result.error
        }
        #expect(try settings([:]).hasSuffix("started with OPENBLAS_THREAD_TIMEOUT=20, GLIBC_TUNABLES=glibc.malloc.hugetlb=1"))
        #expect(try settings(["OPENBLAS_THREAD_TIMEOUT": "24", "GLIBC_TUNABLES": "glibc.malloc.arena_max=2"]).hasSuffix(
            "started with OPENBLAS_THREAD_TIMEOUT=24, GLIBC_TUNABLES=glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1"))
        #expect(try settings(["GLIBC_TUNABLES": "glibc.malloc.hugetlb=0"]).hasSuffix(
            "started with OPENBLAS_THREAD_TIMEOUT=20, GLIBC_TUNABLES=glibc.malloc.hugetlb=0"))
        // The marker of a second start: nothing is added, so nothing can loop.
        #expect(try settings(["LATENT_STARTUP_TUNED": "1"]).hasSuffix("started with OPENBLAS_THREAD_TIMEOUT unset, GLIBC_TUNABLES unset"))
    }
}
