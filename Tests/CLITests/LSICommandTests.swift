import Foundation
import Latent
import TestSupport
import Testing

@Suite("latent lsi, topics, project, example", .timeLimit(.minutes(5)))
struct LSICommandTests {
    static let titles = DeerwesterExample.titles.joined(separator: "\n")

    @Test("corpus -> lsi -> topics -> project on the 9 titles gives gensim's topics")
    func pipeline() throws {
        let temporary = try TemporaryDirectory()
        let dir = temporary.path
        try Self.titles.write(toFile: dir + "/t.txt", atomically: true, encoding: .utf8)
        try "for\na\nof\nthe\nand\nto\nin\n".write(toFile: dir + "/stop.txt", atomically: true, encoding: .utf8)
        var result = try CommandLineTests.run(["corpus", dir + "/t.txt", "--out", dir + "/d", "--stopwords", dir + "/stop.txt",
                                               "--no-below", "2", "--no-above", "1.0"])
        #expect(result.status == 0, "\(result.error)")
        for arguments in [["--chunk-size", "1"], ["--chunk-size", "4", "--multipass", "--float32", "--threads", "1"]] {
            result = try CommandLineTests.run(["lsi", dir + "/d.mm", "--vocab", dir + "/d.vocab", "--topics", "200",
                                               "--out", dir + "/d.lsi"] + arguments)
            #expect(result.status == 0, "\(result.error)")
            // Not a terminal: progress comes as gensim's log lines.
            #expect(result.error.contains(" : INFO : processed documents up to #"), "\(result.error)")
            result = try CommandLineTests.run(["topics", dir + "/d.lsi", "--top", "5", "--first", "2"])
            #expect(result.status == 0, "\(result.error)")
            let lines = result.output.split(separator: "\n").map(String.init)
            #expect(lines.count == 2)
            #expect(lines.first?.hasPrefix("topic #0(3.341): ") == true, "\(lines)")
            #expect(lines.first?.hasSuffix(#"0.644*"system" + 0.404*"user" + 0.301*"eps" + 0.265*"response" + 0.265*"time""#) == true, "\(lines)")
            #expect(lines.last?.hasSuffix(#"0.623*"graph" + 0.490*"trees" + 0.451*"minors" + 0.274*"survey" + -0.167*"system""#) == true, "\(lines)")
        }
        result = try CommandLineTests.run(["project", dir + "/d.lsi", dir + "/d.mm", "--out", dir + "/p.mm"])
        #expect(result.status == 0, "\(result.error)")
        result = try CommandLineTests.run(["info", dir + "/p.mm"])
        #expect(result.output.contains("documents: 9\nterms: 9\n"), "\(result.output)")

        result = try CommandLineTests.run(["topics", dir + "/missing.lsi"])
        #expect(result.status == 1 && result.error.contains("latent: error: \(dir)/missing.lsi/model.json"), "\(result.error)")
        result = try CommandLineTests.run(["lsi", dir + "/d.mm", "--topics", "0", "--out", dir + "/x"])
        #expect(result.status == 64 && result.error.contains("topics: expected at least 1, got 0"), "\(result.error)")
    }

    /// "peak memory 44.1 MiB" from the example's last line, in MiB.
    static func peakMemory(_ output: String) -> Double? {
        guard let range = output.range(of: "peak memory ") else { return nil }
        return Double(output[range.upperBound...].prefix { $0.isNumber || $0 == "." })
    }

    @Test("the example prints gensim's topics; 1,000,000 documents need no more memory than 10,000")
    func example() throws {
        // Chunks of 2,000 documents: both runs then use the same jobs on the same threads,
        // and any difference in memory comes from the number of documents alone.
        let small = try CommandLineTests.run(["example", "--documents", "10000", "--chunk-size", "2000", "--log-level", "warning"])
        let large = try CommandLineTests.run(["example", "--documents", "1000000", "--chunk-size", "2000", "--log-level", "warning"])
        for result in [small, large] {
            #expect(result.status == 0, "\(result.error)")
            #expect(result.output.components(separatedBy: #"0.644*"system" + 0.404*"user""#).count == 3, "\(result.output)")
            #expect(result.output.contains("kept 9 topics"))
            // LDA parts the graph titles from the human-computer ones.
            let lda = result.output.components(separatedBy: "LDA of the 9 documents").last?.split(separator: "\n") ?? []
            #expect(lda.count == 3 && lda[1].contains(#"(0.500): 0.232*"graph" + 0.231*"trees" + 0.165*"minors""#)
                    && lda[2].contains(#"*"system" + "#), "\(result.output)")
        }
        let smallPeak = try #require(Self.peakMemory(small.output))
        let largePeak = try #require(Self.peakMemory(large.output))
        // Noise: allocator and thread-stack timing vary by a few MiB between runs.
        #expect(largePeak <= smallPeak + 8, "peak \(largePeak) MiB on 1,000,000 documents vs \(smallPeak) MiB on 10,000")
    }
}
