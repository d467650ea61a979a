// The library product: one import for Swift programs (`import Latent`) that brings every
// layer of design.md §2 that a user of the library needs.
@_exported import LatentLinearAlgebra
@_exported import LatentCorpus
@_exported import LatentModels
@_exported import LatentCluster
@_exported import Logging

/// The version of Latent, as `latent --version` prints it.
public let latentVersion = "0.1.0"
