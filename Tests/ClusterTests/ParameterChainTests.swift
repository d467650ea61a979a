import LatentCorpus
@testable import LatentCluster
import LatentModels
import Testing

/// What a client's stages send: the parameters whole, or the change from the stage before
/// while the changes since the last whole ones stay within the allowance.
@Suite("parameter chain")
struct ParameterChainTests {
    /// A computation whose whole parameters are `wholeBytes` bytes and whose every change is
    /// `changeBytes` bytes; `version` tells computations apart.
    struct Padded: IncrementalComputation {
        static let kind = "test.padded"
        let termBound = 1
        let version: Int
        let wholeBytes: Int
        let changeBytes: Int

        init(version: Int, wholeBytes: Int, changeBytes: Int) {
            self.version = version
            self.wholeBytes = wholeBytes
            self.changeBytes = changeBytes
        }

        var name: String { "padded" }
        func process(_ chunk: consuming SparseChunk, index: Int) throws -> Int { chunk.documentCount }
        func merge(_ earlier: Int, _ later: Int) throws -> Int { earlier + later }

        func encodeParameters(into writer: inout PortableWriter) {
            writer.write(version)
            writer.write(changeBytes)
            writer.write(array: [UInt8](repeating: 1, count: wholeBytes))
        }

        init(parameters reader: inout PortableReader) throws {
            version = try reader.readInt("version", in: 0...Int(Int32.max))
            changeBytes = try reader.readInt("change bytes", in: 0...Int(Int32.max))
            let padding: [UInt8] = try reader.readArray("padding")
            wholeBytes = padding.count
        }

        func encode(_ state: Int, into writer: inout PortableWriter) { writer.write(state) }
        func decodeState(_ reader: inout PortableReader) throws -> Int { try reader.readInt("documents", in: 0...Int(Int32.max)) }

        func encodeChange(from previous: Padded, into writer: inout PortableWriter) -> Bool {
            writer.write(version - previous.version)
            writer.write(array: [UInt8](repeating: 2, count: changeBytes))
            return true
        }

        init(change reader: inout PortableReader, from previous: Padded) throws {
            version = previous.version + (try reader.readInt("step", in: 0...Int(Int32.max)))
            let _: [UInt8] = try reader.readArray("padding")
            wholeBytes = previous.wholeBytes
            changeBytes = previous.changeBytes
        }
    }

    @Test("changes follow the stage before until they would pass four times the whole parameters (plus a block); then the parameters go whole and the count starts again; a stage that does not follow the last goes whole")
    func allowance() throws {
        let chain = ParameterChain()
        let (whole, change) = (200_000, 100_000)
        let first = Padded(version: 1, wholeBytes: whole, changeBytes: change)
        let wholeSize = first.parameterBytes().count
        let changeSize = try #require(Padded(version: 2, wholeBytes: whole, changeBytes: change).changeBytes(from: first)).count
        let allowed = (4 * wholeSize + ClusterLimits.blockSize) / changeSize
        #expect(allowed == 18, "200 kB whole, 100 kB changes: 4 x 200 kB + 1 MiB holds 18 changes")

        var sent: [(stage: UInt64, base: UInt64, size: Int)] = []
        for stage in UInt64(1)...UInt64(2 * allowed + 3) {
            let (bytes, base) = chain.parameters(of: Padded(version: Int(stage), wholeBytes: whole, changeBytes: change), stage: stage)
            sent.append((stage, base, bytes.count))
        }
        let wholeStages = sent.filter { $0.base == 0 }.map(\.stage)
        #expect(wholeStages == [1, UInt64(allowed + 2), UInt64(2 * allowed + 3)])
        for entry in sent where entry.base != 0 {
            #expect(entry.base == entry.stage - 1 && entry.size == changeSize)
        }
        for entry in sent where entry.base == 0 { #expect(entry.size == wholeSize) }

        // A changed stage decodes to the computation it was written from.
        let later = Padded(version: 9, wholeBytes: whole, changeBytes: change)
        var reader = PortableReader(try #require(later.changeBytes(from: first)), payload: "change")
        #expect(try Padded(change: &reader, from: first).version == 9)

        // A gap in the numbering (a stage of another pass or session) starts from whole parameters.
        let next = UInt64(2 * allowed + 5)
        #expect(chain.parameters(of: Padded(version: 1, wholeBytes: whole, changeBytes: change), stage: next).base == 0)
    }
}
