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
            let (bytes, base, _) = chain.parameters(of: Padded(version: Int(stage), wholeBytes: whole, changeBytes: change), stage: stage)
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

    @Test("a change that ends with the merged state of the stage before goes as its beginning, for the dispatcher to append that state; otherwise whole")
    func endsWithResult() throws {
        let chain = ParameterChain()
        let first = Padded(version: 1, wholeBytes: 5_000, changeBytes: 3_000)
        #expect(chain.parameters(of: first, stage: 1).base == 0)
        // Padded's change ends with its padding of 2s: a state of 1,000 of them is its end.
        let state = [UInt8](repeating: 2, count: 1_000)
        chain.resultArrived(stage: 1, bytes: state)
        let second = Padded(version: 2, wholeBytes: 5_000, changeBytes: 3_000)
        let change = try #require(second.changeBytes(from: first))
        let sent = chain.parameters(of: second, stage: 2)
        #expect(sent.base == 1 && sent.appendsResult)
        #expect(sent.bytes + state == change && sent.bytes.count == change.count - 1_000)

        // A state the change does not end with, no state, or the state of another stage: the
        // change goes whole.
        chain.resultArrived(stage: 2, bytes: [UInt8](repeating: 3, count: 1_000))
        let third = chain.parameters(of: Padded(version: 3, wholeBytes: 5_000, changeBytes: 3_000), stage: 3)
        #expect(third.base == 2 && !third.appendsResult && third.bytes.count == change.count)
        let fourth = chain.parameters(of: Padded(version: 4, wholeBytes: 5_000, changeBytes: 3_000), stage: 4)
        #expect(fourth.base == 3 && !fourth.appendsResult)
        chain.resultArrived(stage: 3, bytes: state)
        let fifth = chain.parameters(of: Padded(version: 5, wholeBytes: 5_000, changeBytes: 3_000), stage: 5)
        #expect(fifth.base == 4 && !fifth.appendsResult)
        // A state longer than the change itself.
        chain.resultArrived(stage: 5, bytes: [UInt8](repeating: 2, count: 4_000))
        #expect(!chain.parameters(of: Padded(version: 6, wholeBytes: 5_000, changeBytes: 3_000), stage: 6).appendsResult)

        #expect(ParameterChain.beginning(of: [1, 2, 3], endingWith: [2, 3]) == [1])
        #expect(ParameterChain.beginning(of: [1, 2, 3], endingWith: [1, 2, 3]) == [])
        #expect(ParameterChain.beginning(of: [1, 2, 3], endingWith: [3, 3]) == nil)
        #expect(ParameterChain.beginning(of: [3], endingWith: [2, 3]) == nil)
    }

    @Test("a stage starts ahead of the stage before's merged state only when a state's size is known, that state has not arrived, the stage is the next and the change fits the allowance; it is confirmed when its change is the beginning sent followed by that state, and refused otherwise")
    func startedAhead() throws {
        let chain = ParameterChain()
        func padded(_ version: Int) -> Padded { Padded(version: version, wholeBytes: 5_000, changeBytes: 3_000) }
        // Padded's change ends with its padding of 2s: a state of 1,000 of them is its end.
        let state = [UInt8](repeating: 2, count: 1_000)
        let beginning = Array(try #require(padded(2).changeBytes(from: padded(1))).dropLast(1_000))
        _ = chain.parameters(of: padded(1), stage: 1)
        #expect(!chain.startAhead(stage: 2, beginning: beginning), "no merged state's size is known yet")
        chain.resultArrived(stage: 1, bytes: state)
        #expect(!chain.startAhead(stage: 2, beginning: beginning), "the state it would wait for has arrived")
        #expect(chain.parameters(of: padded(2), stage: 2).appendsResult)

        #expect(!chain.startAhead(stage: 4, beginning: beginning), "not the next stage")
        let huge = [UInt8](repeating: 0, count: ClusterLimits.changeAllowance(wholeSize: padded(1).parameterBytes().count))
        #expect(!chain.startAhead(stage: 3, beginning: huge), "past the allowance")
        #expect(chain.startAhead(stage: 3, beginning: beginning))
        #expect(!chain.startAhead(stage: 3, beginning: beginning), "already started ahead")
        chain.resultArrived(stage: 2, bytes: state)
        try chain.confirmAhead(padded(3), stage: 3)

        // The model makes another computation than it announced (a step of 2 versions, not 1).
        #expect(chain.startAhead(stage: 4, beginning: beginning))
        chain.resultArrived(stage: 3, bytes: state)
        #expect(throws: ClusterError.self) { try chain.confirmAhead(padded(5), stage: 4) }
        // Not started after all: the stage goes as usual, as a change of the last one confirmed.
        chain.cancelAhead()
        let fourth = chain.parameters(of: padded(4), stage: 4)
        #expect(fourth.base == 3 && fourth.appendsResult && fourth.bytes == beginning)
    }
}
