// swift-tools-version:6.1
import Foundation
import PackageDescription

/// The CPU the kernels are compiled for. SIMD code needs AVX2 and FMA to be fast (without
/// them every fused multiply-add is a library call), so x86-64 builds target haswell (AVX2, FMA)
/// (Intel Haswell and later, AMD Zen) unless SPRIG_TARGET_CPU names another (e.g. `x86-64` for old
/// machines, `native`).
#if arch(x86_64)
let targetCPU: String? = ProcessInfo.processInfo.environment["SPRIG_TARGET_CPU"] ?? "haswell"
#else
let targetCPU: String? = ProcessInfo.processInfo.environment["SPRIG_TARGET_CPU"]
#endif
let kernelSettings: [SwiftSetting] = targetCPU.map { [.unsafeFlags(["-target-cpu", $0])] } ?? []

/// Sprig: sparse neural-network training (RigL and friends), data-parallel under MPI.
///
/// The `MPI` trait (on by default) links Open MPI. Without it
/// (`swift build --disable-default-traits`) Sprig builds and runs as a single process on
/// a machine that has no Open MPI: the single-node fallback at build time.
let package = Package(
    name: "Sprig",
    products: [
        .executable(name: "sprig", targets: ["SprigCLI"]),
        .library(name: "Sprig", targets: ["Sprig"]),
        .library(name: "MPI", targets: ["MPI"]),
    ],
    traits: [
        .trait(name: "MPI", description: "Link Open MPI for multi-process runs under mpirun."),
        .default(enabledTraits: ["MPI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
    ],
    targets: [
        .systemLibrary(
            name: "CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]
        ),
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // zlib; not named CZlib, the name of ZIPFoundation's own zlib module.
        .systemLibrary(
            name: "Zlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .target(
            name: "MPI",
            dependencies: [.target(name: "CMPI", condition: .when(traits: ["MPI"]))]
        ),
        // The library, in layers; each depends only on those below it (docs/ARCHITECTURE.md).
        .target(name: "SprigTensor", dependencies: ["CBLAS"], swiftSettings: kernelSettings),
        .target(
            name: "SprigData",
            dependencies: ["SprigTensor", "Zlib", .product(name: "ZIPFoundation", package: "ZIPFoundation")],
            swiftSettings: kernelSettings
        ),
        .target(name: "SprigExport", dependencies: ["SprigTensor", "Zlib"], swiftSettings: kernelSettings),
        .target(name: "SprigLayers", dependencies: ["SprigTensor"], swiftSettings: kernelSettings),
        .target(name: "SprigSparsity", dependencies: ["SprigTensor", "SprigLayers"], swiftSettings: kernelSettings),
        .target(name: "SprigModels", dependencies: ["SprigTensor", "SprigLayers", "SprigSparsity"], swiftSettings: kernelSettings),
        .target(
            name: "SprigDistributed",
            dependencies: ["MPI", "SprigTensor", "SprigLayers", "SprigSparsity"],
            swiftSettings: kernelSettings
        ),
        .target(
            name: "SprigTraining",
            dependencies: ["SprigTensor", "SprigData", "SprigExport", "SprigLayers", "SprigSparsity", "SprigModels",
                           "SprigDistributed", "Zlib", .product(name: "Yams", package: "Yams")],
            swiftSettings: kernelSettings
        ),
        .target(
            name: "Sprig",
            dependencies: ["SprigTensor", "SprigData", "SprigExport", "SprigLayers", "SprigSparsity", "SprigModels",
                           "SprigDistributed", "SprigTraining"]
        ),
        .executableTarget(
            name: "SprigCLI",
            dependencies: ["Sprig", "MPI", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(
            name: "SprigTests",
            dependencies: ["Sprig", "MPI", "SprigTensor", "SprigData", "SprigExport", "SprigLayers", "SprigSparsity",
                           "SprigModels", "SprigDistributed", "SprigTraining",
                           .product(name: "ZIPFoundation", package: "ZIPFoundation")] // writes .npz files to read
        ),
    ],
    swiftLanguageModes: [.v5]
)
