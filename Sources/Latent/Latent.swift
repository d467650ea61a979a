// The library product: one import for Swift programs (`import Latent`) that brings every
// layer of design.md §2 that a user of the library needs.
@_exported import LatentLinearAlgebra
@_exported import LatentCorpus
@_exported import LatentModels
@_exported import LatentCluster
@_exported import Logging

/// The version of Latent, as `latent --version` prints it.
public let latentVersion = "0.1.0"

extension ComputationRegistry {
    /// Every computation of Latent's own models (LSI, LDA), as the `latent` command composes it
    /// for its dispatcher, workers and cluster executor. A program with computations of its
    /// own adds them to this (or to an empty registry) with `register(_:)`.
    public static var builtIn: ComputationRegistry {
        var registry = ComputationRegistry()
        LSIModel.registerComputations(in: &registry)
        LDAModel.registerComputations(in: &registry)
        return registry
    }
}
