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

    /// sha256sum's digest, so the test needs nothing beyond coreutils.
    private func sha256Hex(of path: String) throws -> String {
        let result = try runProcess("/usr/bin/env", ["sha256sum", path])
        return result.output.split(separator: " ").first.map(String.init) ?? ""
    }
}
