import Foundation
import Latent
import Synchronization
import TestSupport
import Testing

/// Latent's LDA against gensim 4.4.0's own, from the same random draws (recorded from gensim
/// by Tests/Interop/lda_reference.py and replayed): the same λ after every M-step, the same
/// α, the same bound.
@Suite("gensim LDA exactness", .serialized, .timeLimit(.minutes(10)))
struct GensimLDATests {
    /// Largest |a − b| / |b| over the elements.
    static func relativeError(_ a: [Double], _ b: [Double]) -> Double {
        zip(a, b).map { abs($0 - $1) / abs($1) }.max() ?? .infinity
    }

    @Test("from gensim's own draws, λ and α after every M-step equal gensim's to 1e-8 (alpha fixed and auto), and so do the bound and the per-word bound; u_mass and c_v coherence to 1e-6")
    func exactness() async throws {
        guard let python = try GensimInteropTests.python() else { return }
        let temporary = try TemporaryDirectory()
        let dir = temporary.path
        let reference = try runProcess(python, [GensimInteropTests.interopFolder + "/lda_reference.py", dir])
        try #require(reference.status == 0, "lda_reference.py: \(reference.error)")
        let corpus = try MatrixMarketCorpus(path: dir + "/lee.mm")
        let vocabulary = try Vocabulary(contentsOf: dir + "/lee.vocab")
        let k = 5, v = vocabulary.idBound

        var fixedModel: LDAModel?
        for (name, alpha) in [("fixed", DirichletPrior.symmetric), ("auto", .auto)] {
            let topics = try NumPyArray(contentsOf: "\(dir)/\(name).topics0.npy")
            let gammas = try NumPyArray(contentsOf: "\(dir)/\(name).gammas.npy")
            let lambdas = try NumPyArray(contentsOf: "\(dir)/\(name).lambdas.npy")
            let alphas = try NumPyArray(contentsOf: "\(dir)/\(name).alphas.npy")
            try #require(topics.shape == [k, v] && gammas.shape == [600, k] && lambdas.shape.count == 3)
            // C-order topics x terms is the column-major terms x topics; draws x topics in C
            // order is column-major topics x draws.
            let replay = LDAReplay(topics: Matrix(rows: v, columns: k, columnMajor: topics.values).transposed(),
                                   gammas: Matrix(rows: k, columns: 600, columnMajor: gammas.values))
            let updates = Mutex<[LDAModel]>([])
            let parameters = LDAParameters(topics: k, chunkSize: 64, passes: 2, updateEvery: 1, alpha: alpha,
                                           eta: .symmetric, gammaThreshold: 0.001, evalEvery: 0, precision: .float64)
            let model = try await LDAModel(corpus: corpus, vocabulary: vocabulary, parameters: parameters, replay: replay,
                                           executor: InProcessExecutor(threads: 2),
                                           onUpdate: { model in updates.withLock { $0.append(model) } })
            let seen = updates.withLock { $0 }
            let expectedUpdates = lambdas.shape[0]
            #expect(expectedUpdates == 10 && seen.count == expectedUpdates, "\(name): \(seen.count) M-steps, gensim made \(expectedUpdates)")
            var worst = 0.0
            defer { print("\(name): largest relative difference of λ from gensim's over \(seen.count) M-steps: \(worst)") }
            for (m, update) in seen.prefix(expectedUpdates).enumerated() {
                let expected = Array(lambdas.values[(m * k * v)..<((m + 1) * k * v)])
                let lambda = update.lambda
                let ours = (0..<k).flatMap { topic in (0..<v).map { lambda[topic, $0] } }
                let error = Self.relativeError(ours, expected)
                worst = max(worst, error)
                #expect(error <= 1e-8, "\(name): λ after M-step \(m + 1) differs from gensim's by \(error) (relative)")
                let alphaError = Self.relativeError(update.alpha, Array(alphas.values[(m * k)..<((m + 1) * k)]))
                #expect(alphaError <= 1e-8, "\(name): α after M-step \(m + 1) differs from gensim's by \(alphaError)")
            }
            if name == "auto" {
                #expect(Set(model.alpha).count > 1, "alpha auto learned nothing: \(model.alpha)")
            } else {
                fixedModel = model
            }
        }

        let model = try #require(fixedModel)
        let figures = try String(contentsOfFile: dir + "/bound.txt", encoding: .utf8)
            .split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        try #require(figures.count == 3)
        func draws(_ file: String) throws -> Matrix<Double> {
            let array = try NumPyArray(contentsOf: dir + "/" + file)
            return Matrix(rows: k, columns: array.shape[0], columnMajor: array.values)
        }
        let bound = try model.bound(corpus, initialGammas: try draws("bound.gammas.npy"))
        #expect(abs(bound.total - figures[0]) <= 1e-8 * abs(figures[0]), "bound \(bound.total), gensim's \(figures[0])")
        #expect(bound.words == figures[2])
        let perWord = try model.bound(corpus, initialGammas: try draws("perplexity.gammas.npy")).perWordBound
        print("bound \(bound.total) (gensim \(figures[0])), per-word bound \(perWord) (gensim \(figures[1]))")

        // Coherence of the same topics on the same data.
        let coherence = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: dir + "/coherence.json"))) as? [String: Any])
        let topics = try #require(coherence["topics"] as? [[Int]]).map { $0.map(Int32.init) }
        let tokenizer = Tokenizer()
        let texts = try String(contentsOfFile: dir + "/texts.txt", encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            .dropLast().map { tokenizer.tokens(String($0)) }
        let computed: [(String, [Double])] = [
            ("u_mass", try TopicCoherence.uMass(topics: topics, corpus: corpus)),
            ("c_v", try TopicCoherence.cV(topics: topics, texts: { body in try texts.forEach(body) }, vocabulary: vocabulary)),
            ("c_v_10", try TopicCoherence.cV(topics: topics, texts: { body in try texts.forEach(body) }, vocabulary: vocabulary, window: 10)),
        ]
        for (name, ours) in computed {
            let expected = try #require(coherence[name] as? [Double])
            let difference = zip(ours, expected).map { abs($0 - $1) }.max() ?? .infinity
            print("\(name): Latent \(ours), gensim \(expected)")
            #expect(ours.count == expected.count && difference <= 1e-6, "\(name) differs from gensim's by \(difference)")
        }
        #expect(abs(perWord - figures[1]) <= 1e-8 * abs(figures[1]), "per-word bound \(perWord), gensim's \(figures[1])")
    }
}
