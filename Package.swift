// swift-tools-version: 6.1
import PackageDescription

// The layers of design.md §2, one module each; every layer depends only on those above it.
// LinearAlgebra -> Corpus -> Models -> (Cluster) -> CLI. `Latent` re-exports the library layers.
let package = Package(
    name: "Latent",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Latent", targets: ["Latent"]),
        .executable(name: "latent", targets: ["LatentCLI"]),
        .executable(name: "latent-generate", targets: ["BenchmarkGenerator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
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
        .target(
            name: "LatentLinearAlgebra",
            dependencies: ["CLAPACK"],
            path: "Sources/LinearAlgebra",
            // The dense x sparse kernels are SIMD loops that run ~100x slower unoptimised;
            // compiling this one layer with -O keeps debug builds (and the tests) usable.
            // On Linux (x86-64 servers) it targets AVX2/FMA (Haswell, 2013, and later), which
            // doubles the kernels' speed; `latent` checks the CPU before using it.
            swiftSettings: [
                .unsafeFlags(["-O"], .when(configuration: .debug)),
                .unsafeFlags(["-target-cpu", "haswell"], .when(platforms: [.linux])),
            ]
        ),
        .target(
            name: "LatentCorpus",
            dependencies: ["LatentLinearAlgebra", "CCompression", .product(name: "Logging", package: "swift-log")],
            path: "Sources/Corpus"
        ),
        .target(
            name: "LatentModels",
            dependencies: ["LatentLinearAlgebra", "LatentCorpus", .product(name: "Logging", package: "swift-log")],
            path: "Sources/Models"
        ),
        .target(
            name: "Latent",
            dependencies: [
                "LatentLinearAlgebra", "LatentCorpus", "LatentModels",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Latent"
        ),
        .executableTarget(
            name: "LatentCLI",
            dependencies: ["Latent", "CMalloc", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/CLI"
        ),
        // Benchmarks/: the synthetic corpus generator (Wikipedia-shaped, LDA-like).
        .executableTarget(
            name: "BenchmarkGenerator",
            dependencies: ["LatentCorpus", "LatentModels"],
            path: "Benchmarks/Generator"
        ),
        .target(
            name: "TestSupport",
            path: "Tests/TestSupport"
        ),
        .testTarget(
            name: "LinearAlgebraTests",
            dependencies: ["LatentLinearAlgebra"],
            path: "Tests/LinearAlgebraTests"
        ),
        .testTarget(
            name: "CorpusTests",
            dependencies: ["LatentCorpus"],
            path: "Tests/CorpusTests"
        ),
        .testTarget(
            name: "ModelsTests",
            dependencies: ["LatentModels"],
            path: "Tests/ModelsTests"
        ),
        .testTarget(
            name: "InteropTests",
            dependencies: ["Latent", "TestSupport"],
            path: "Tests/InteropTests"
        ),
        .testTarget(
            name: "CLITests",
            dependencies: ["Latent", "TestSupport"],
            path: "Tests/CLITests"
        ),
    ],
    swiftLanguageModes: [.v6]
)
