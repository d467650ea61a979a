import Foundation
import TestSupport
import Testing
@testable import LatentCluster

/// The generated wire code is committed; this fails when latent.proto was edited without
/// running scripts/regenerate-protos.sh, which records the digest of the .proto it used.
@Suite struct WireCurrencyTests {
    @Test func generatedCodeMatchesTheProto() throws {
        let proto = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/Cluster/Wire/latent.proto")
        let digest = try sha256Hex(of: proto.path)
        #expect(digest == ProtoDigest.sha256,
                "Sources/Cluster/Wire/latent.proto changed since the code was generated: run scripts/regenerate-protos.sh")
    }

    /// latent.proto's digest at each cluster protocol version: a .proto of a new digest
    /// speaks a new version (peers of two Latents refuse each other by it).
    static let digests: [UInt32: String] = [
        1: "97ed76d4eb6486798bd67447d92d67dbe7d018ed4543bd47a0e33c55cc19efb9",
        // A stage may start ahead of the end of the stage whose merged state ends its change.
        2: "073c1d3604c6369aae44b7bd1b712098a022ce1e24b4bbbcd48a345bffae0660",
        // One job may cover a block of 2^level chunks (a whole subtree of the stage's merge tree);
        // a stage started ahead hands out its jobs once the stage before's states are in, and
        // FetchStage waits for its parameters.
        3: "60597d5621ed86f27203047d253dfb3b4c3ba45fc56a8b4df7f745a86e75be3d",
        // A worker may ask for the next stage's parameters without waiting (FetchStage
        // without_waiting), and a change's beginning (form 2) goes out once every job of the
        // stage before is the worker's, in or leased.
        4: "f3f4be6cd3305ab741535d9d26039df607739b9cb999bcf9a892ba4634dc3792",
    ]

    @Test func protocolVersionMatchesTheProto() {
        #expect(Self.digests[ClusterProtocol.version] == ProtoDigest.sha256,
                "latent.proto changed: raise ClusterProtocol.version and record the new digest in WireCurrencyTests.digests")
        #expect(Set(Self.digests.values).count == Self.digests.count, "two versions with one .proto")
    }

    @Test("a peer of another protocol version is named with both versions and what to do; the same version passes")
    func mismatchMessages() {
        let version = ClusterProtocol.version
        #expect(ClusterProtocol.mismatch("worker 'w'", speaks: version, us: "this dispatcher") == nil)
        #expect(ClusterProtocol.mismatch("the dispatcher at h:1", speaks: 0, us: "this worker")
            == "the dispatcher at h:1 speaks version 0 of the cluster protocol (a Latent from before protocol versions, older than this one), this worker version \(version): run the same Latent release on the dispatcher, the workers and the client")
        #expect(ClusterProtocol.mismatch("worker 'w'", speaks: version + 1, us: "this dispatcher")?
            .hasPrefix("worker 'w' speaks version \(version + 1) of the cluster protocol (a newer Latent), this dispatcher version \(version):") == true)
    }

    /// sha256sum's digest, so the test needs nothing beyond coreutils.
    private func sha256Hex(of path: String) throws -> String {
        let result = try runProcess("/usr/bin/env", ["sha256sum", path])
        return result.output.split(separator: " ").first.map(String.init) ?? ""
    }
}
