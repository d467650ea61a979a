// swift-tools-version: 6.1
import PackageDescription

// The layers of design.md §2, one module each; every layer depends only on those above it.
// LinearAlgebra -> Corpus -> Models -> (Cluster) -> CLI. `Latent` re-exports the library layers.

// What a target of this package that imports `Latent` depends on: the umbrella and, named
// again, the layers it re-exports. SwiftPM rebuilds a target when a module it depends on
// directly has changed, not when one it sees through the umbrella's `@_exported import` has:
// a release build once kept the command line's inlined copy of a struct's initializer from
// before a stored property was added to it, and the program crashed.
let umbrella: [Target.Dependency] = ["Latent", "LatentLinearAlgebra", "LatentCorpus", "LatentModels", "LatentCluster"]

let package = Package(
    name: "Latent",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Latent", targets: ["Latent"]),
        .executable(name: "latent", targets: ["LatentCLI"]),
        .executable(name: "latent-generate", targets: ["BenchmarkGenerator"]),
        .library(name: "LatentServer", targets: ["LatentServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.0"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.0"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.100.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.36.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLAPACK",
            path: "Sources/CLAPACK",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
        ),
        .systemLibrary(
            name: "CCompression",
            path: "Sources/CCompression",
            providers: [.apt(["zlib1g-dev", "libbz2-dev"])]
        ),
        // glibc's allocator settings (mallopt), for the command line's tuning.
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),
        // The hand-written hot loops (dense x sparse products, the sparse sign sketch) in C,
        // each in an AVX2 and a portable version chosen at run time: any x86-64 or arm64 CPU
        // runs the library, and those with AVX2 run it fast. No build flags are needed, so
        // other packages can depend on Latent by version.
        .target(
            name: "LatentKernels",
            path: "Sources/Kernels"
        ),
        .target(
            name: "LatentLinearAlgebra",
            dependencies: ["CLAPACK", "LatentKernels"],
            path: "Sources/LinearAlgebra"
        ),
        .target(
            name: "LatentCorpus",
            dependencies: ["LatentLinearAlgebra", "CCompression", .product(name: "Logging", package: "swift-log")],
            path: "Sources/Corpus"
        ),
        .target(
            name: "LatentModels",
            dependencies: ["LatentLinearAlgebra", "LatentKernels", "LatentCorpus", .product(name: "Logging", package: "swift-log")],
            path: "Sources/Models"
        ),
        // The cluster (design §4): dispatcher, worker and client executor over gRPC. The code
        // in Sources/Cluster/Wire is generated from latent.proto by scripts/regenerate-protos.sh.
        .target(
            name: "LatentCluster",
            dependencies: [
                "LatentLinearAlgebra", "LatentCorpus", "LatentModels",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ],
            path: "Sources/Cluster",
            exclude: ["Wire/latent.proto"]
        ),
        // The query server (design §2's Server layer): similarity queries over HTTP and the web
        // page, on Hummingbird; the same topic views as a self-contained report.
        .target(
            name: "LatentServer",
            dependencies: [
                "LatentCorpus", "LatentModels",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Sources/Server"
        ),
        .target(
            name: "Latent",
            dependencies: [
                "LatentLinearAlgebra", "LatentCorpus", "LatentModels", "LatentCluster",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Latent"
        ),
        .executableTarget(
            name: "LatentCLI",
            dependencies: umbrella + ["LatentServer", "CMalloc", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/CLI"
        ),
        // Benchmarks/: the synthetic corpus generator (Wikipedia-shaped, LDA-like).
        .executableTarget(
            name: "BenchmarkGenerator",
            dependencies: ["LatentLinearAlgebra", "LatentCorpus", "LatentModels", "CCompression"],
            path: "Benchmarks/Generator"
        ),
        .target(
            name: "TestSupport",
            dependencies: ["LatentLinearAlgebra", "LatentCorpus", "LatentModels"],
            path: "Tests/TestSupport"
        ),
        // A dispatcher or worker with the tests' own computations, for the cluster tests.
        .executableTarget(
            name: "latent-cluster-fixture",
            dependencies: umbrella + ["TestSupport"],
            path: "Tests/ClusterFixture"
        ),
        .testTarget(
            name: "LinearAlgebraTests",
            dependencies: ["LatentLinearAlgebra"],
            path: "Tests/LinearAlgebraTests"
        ),
        .testTarget(
            name: "CorpusTests",
            dependencies: ["LatentCorpus", "LatentLinearAlgebra", "TestSupport", .product(name: "Logging", package: "swift-log")],
            path: "Tests/CorpusTests"
        ),
        .testTarget(
            name: "ModelsTests",
            dependencies: ["LatentModels", "LatentKernels", "TestSupport"],
            path: "Tests/ModelsTests"
        ),
        .testTarget(
            name: "InteropTests",
            dependencies: umbrella + ["TestSupport"],
            path: "Tests/InteropTests"
        ),
        .testTarget(
            name: "ClusterTests",
            dependencies: umbrella + [
                "TestSupport", "latent-cluster-fixture",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            ],
            path: "Tests/ClusterTests"
        ),
        .testTarget(
            name: "CLITests",
            dependencies: umbrella + ["TestSupport"],
            path: "Tests/CLITests"
        ),
    ],
    swiftLanguageModes: [.v6]
)
