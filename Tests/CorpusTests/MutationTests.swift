import Foundation
import LatentCorpus
import TestSupport
import Testing

/// Random corruptions of valid files: every reader either reads them or throws a
/// `CorpusError`; none crashes (a crash would end the test process).
@Suite("mutation: random corruptions never crash the readers")
struct MutationTests {
    static let rounds = 10_000

    /// A corrupted copy of `bytes`: flipped, replaced, inserted or deleted bytes, a
    /// truncation, or a duplicated stretch.
    static func mutate(_ bytes: [UInt8], using generator: inout SeededByteGenerator) -> [UInt8] {
        var result = bytes
        let edits = 1 + generator.below(3)
        for _ in 0..<edits {
            guard !result.isEmpty else { break }
            let position = generator.below(result.count)
            switch generator.below(6) {
            case 0: result[position] ^= UInt8(1 << generator.below(8))
            case 1: result[position] = [0x20, 0x0A, 0x2D, 0x30, 0x39, 0x2E, 0x65, 0x00, 0xFF, 0x25][generator.below(10)]
            case 2: result.insert(UInt8(truncatingIfNeeded: generator.next()), at: position)
            case 3: result.removeSubrange(position..<min(result.count, position + 1 + generator.below(8)))
            case 4: result.removeSubrange(position...)
            default:
                let length = min(result.count - position, 1 + generator.below(24))
                result.insert(contentsOf: result[position..<(position + length)], at: generator.below(result.count))
            }
        }
        return result
    }

    static func survive(_ name: String, valid: [UInt8], rounds: Int = rounds, read: (String) throws -> Void) throws {
        let dir = try TemporaryDirectory()
        var generator = SeededByteGenerator(seed: 0xC0FFEE)
        var readOK = 0, rejected = 0
        for round in 0..<rounds {
            let path = try dir.write(name, bytes: mutate(valid, using: &generator))
            do {
                try read(path)
                readOK += 1
            } catch is CorpusError {
                rejected += 1
            } catch {
                Issue.record("round \(round): \(type(of: error)) is not a CorpusError: \(error)")
            }
        }
        #expect(readOK + rejected == rounds)
        #expect(rejected > rounds / 10, "the mutations should mostly be caught")
    }

    @Test("Matrix Market reader")
    func matrixMarket() throws {
        try Self.survive("m.mm", valid: Array(deerwesterMM.utf8)) { path in
            _ = try MatrixMarketCorpus(path: path, indexPath: nil).allDocuments()
        }
    }

    @Test("binary reader, with and without the checksum")
    func binary() throws {
        let dir = try TemporaryDirectory()
        let mm = try dir.write("d.mm", deerwesterMM)
        try BinaryCorpus.write(try MatrixMarketCorpus(path: mm), to: dir.file("d.lbc"))
        let valid = try dir.read("d.lbc")
        try Self.survive("b.lbc", valid: valid) { _ = try BinaryCorpus(path: $0).allDocuments() }
        try Self.survive("b.lbc", valid: valid) { _ = try BinaryCorpus(path: $0, verifyChecksum: false).allDocuments() }
    }

    @Test("vocabulary reader")
    func vocabulary() throws {
        let text = "9\n0\tcomputer\t2\n1\thuman\t2\n2\tinterface\t2\n3\tresponse\t2\n4\tsurvey\t2\n"
        try Self.survive("v.vocab", valid: Array(text.utf8)) { _ = try Vocabulary(contentsOf: $0) }
    }
}

/// SplitMix64, for reproducible corruptions.
struct SeededByteGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
