import LatentCorpus
import LatentModels

/// What every computation in a registry must do, checked on a corpus: the conformance
/// checker that each portable computation passes (LSI's, and any registered later).
///
/// - its parameters and every partial state survive the portable encoding unchanged
///   (re-encoding gives the same bytes);
/// - the registry rebuilds it from its kind and parameters, and the rebuilt one computes
///   the same encoded states;
/// - its merge is associative, up to rounding: (a b) c and a (b c) are `equivalent`;
/// - the result of a whole pass does not depend on the number of threads (1 or 2),
///   up to rounding.
public enum ComputationConformance {
    /// The failures found, each a sentence; empty when the computation conforms.
    public static func check<Computation: PortableComputation>(
        _ computation: Computation, corpus: some Corpus, chunkSize: Int, registry: ComputationRegistry,
        equivalent: (Computation.PartialState, Computation.PartialState) -> Bool
    ) async throws -> [String] {
        var failures: [String] = []
        let kind = Computation.kind
        let parameters = computation.parameterBytes()
        if try Computation.decoded(fromParameters: parameters).parameterBytes() != parameters {
            failures.append("\(kind): parameters change in an encode/decode round trip")
        }
        let remote = try registry.make(kind: kind, parameters: parameters)
        if remote.kind != kind || remote.termBound != computation.termBound {
            failures.append("\(kind): the registry rebuilds another computation (\(remote.kind), term bound \(remote.termBound))")
        }
        var states: [Computation.PartialState] = []
        var index = 0
        try corpus.forEachChunk(size: chunkSize) { chunk in
            let state = try computation.process(chunk, index: index)
            let bytes = computation.stateBytes(state)
            if computation.stateBytes(try computation.state(fromBytes: bytes)) != bytes {
                failures.append("\(kind): the state of chunk \(index) changes in an encode/decode round trip")
            }
            if try remote.processEncoded(chunk, index: index) != bytes {
                failures.append("\(kind): the rebuilt computation gives chunk \(index) another state")
            }
            states.append(state)
            index += 1
        }
        guard states.count >= 3 else { return failures + ["\(kind): the corpus needs at least 3 chunks of \(chunkSize)"] }
        for start in 0...(states.count - 3) {
            let (a, b, c) = (states[start], states[start + 1], states[start + 2])
            let left = try computation.merge(try computation.merge(a, b), c)
            let right = try computation.merge(a, try computation.merge(b, c))
            if !equivalent(left, right) { failures.append("\(kind): merging chunks \(start)...\(start + 2) is not associative") }
        }
        let one = try await InProcessExecutor(threads: 1).run(computation, over: corpus, chunkSize: chunkSize)
        let two = try await InProcessExecutor(threads: 2).run(computation, over: corpus, chunkSize: chunkSize)
        if let one, let two {
            if !equivalent(one, two) { failures.append("\(kind): 1 thread and 2 threads give different results") }
        } else {
            failures.append("\(kind): a pass over a non-empty corpus gave no state")
        }
        return failures
    }
}
