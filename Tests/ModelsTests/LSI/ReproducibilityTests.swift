import Foundation
import LatentCorpus
import LatentLinearAlgebra
@testable import LatentModels
import TestSupport
import Testing

/// The bits of saved LSI models, for fixed seeds and thread counts, as the code wrote them
/// before the training engine was reshaped (issue 13): refactoring the engine must not
/// change a single bit of a model. Any change of rounding has to be deliberate, explained,
/// and shown harmless against the exact SVD before these values are updated.
@Suite("LSI models are bit for bit what they were", .serialized)
struct ReproducibilityTests {
    struct Configuration: Sendable, CustomStringConvertible {
        let algorithm: LSIAlgorithm
        let precision: Precision
        let threads: Int
        var description: String { "\(algorithm.rawValue), \(precision.rawValue), \(threads) thread\(threads == 1 ? "" : "s")" }
    }

    /// FNV-1a (64 bits) of the saved u.npy and s.npy, recorded by this test at commit
    /// 794f5e2 ("Test: SIGINT during convert ..."), before issue 13's changes, in the debug
    /// build the tests run in.
    static let recorded: [(Configuration, u: UInt64, s: UInt64)] = [
        (Configuration(algorithm: .onePass, precision: .float64, threads: 1), u: 0x6c5b8bb8e5a9731d, s: 0xbd1d2f3008b84bce),
        (Configuration(algorithm: .onePass, precision: .float64, threads: 2), u: 0xc8be754af90b7cb7, s: 0xd30e2b0b8d516777),
        (Configuration(algorithm: .onePass, precision: .float32, threads: 1), u: 0x2f798ab221902c71, s: 0x43fd60b824c2f9f),
        (Configuration(algorithm: .onePass, precision: .float32, threads: 2), u: 0xa458caf606c85af4, s: 0xf20736d30682bbb),
        (Configuration(algorithm: .multiPass, precision: .float64, threads: 1), u: 0xeedd9c07ef85985b, s: 0x8e6f3caf2d55c61b),
        (Configuration(algorithm: .multiPass, precision: .float64, threads: 2), u: 0xcd97232888d90457, s: 0x8aeb4168b2054cd4),
        (Configuration(algorithm: .multiPass, precision: .float32, threads: 1), u: 0x89e31459d5c15e7d, s: 0x8ce630fe0c617cd5),
        (Configuration(algorithm: .multiPass, precision: .float32, threads: 2), u: 0x2903bdde32b7ebf0, s: 0x8ce630fe0c617cd5),
    ]

    static func fingerprint(_ path: String) throws -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in try Data(contentsOf: URL(fileURLWithPath: path)) {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3
        }
        return hash
    }

    static func train(_ configuration: Configuration) async throws -> (u: UInt64, s: UInt64) {
        let planted = PlantedCorpus.shared
        let model = try await LSIModel(
            corpus: planted.corpus, termCount: planted.terms, topics: 10, chunkSize: 1200,
            algorithm: configuration.algorithm, precision: configuration.precision, seed: 42,
            executor: InProcessExecutor(threads: configuration.threads))
        let dir = try TemporaryDirectory()
        try model.save(to: dir.file("m"))
        return (try fingerprint(dir.file("m/u.npy")), try fingerprint(dir.file("m/s.npy")))
    }

    static let configurations = LSIAlgorithm.allCases.flatMap { algorithm in
        Precision.allCases.flatMap { precision in [1, 2].map { Configuration(algorithm: algorithm, precision: precision, threads: $0) } }
    }

    @Test("one-pass and multi-pass, Float64 and Float32, 1 and 2 threads: the recorded bits", arguments: configurations)
    func bits(_ configuration: Configuration) async throws {
        let (u, s) = try await Self.train(configuration)
        let recorded = Self.recorded.first { $0.0.description == configuration.description }
        #expect(recorded != nil, "(Configuration(algorithm: .\(configuration.algorithm), precision: .\(configuration.precision), threads: \(configuration.threads)), u: 0x\(String(u, radix: 16)), s: 0x\(String(s, radix: 16))),")
        if let recorded {
            #expect(recorded.u == u && recorded.s == s, "\(configuration): u 0x\(String(u, radix: 16)), s 0x\(String(s, radix: 16))")
        }
    }
}
