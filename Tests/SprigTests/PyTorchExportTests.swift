import Foundation
import Testing
@testable import Sprig
@testable import SprigExport
@testable import SprigModels
@testable import SprigTraining

/// The dense export as a PyTorch `state_dict` (exactly the module's parameters, masks in
/// the sidecar file) and the metadata that describes the module and the input normalisation.
@Suite struct PyTorchExportTests {
    static let lenet5Parameters: [String: [Int]] = [
        "conv1.weight": [6, 1, 5, 5], "conv1.bias": [6], "conv2.weight": [16, 6, 5, 5], "conv2.bias": [16],
        "fc1.weight": [120, 400], "fc1.bias": [120], "fc2.weight": [84, 120], "fc2.bias": [84],
        "fc3.weight": [10, 84], "fc3.bias": [10]]

    /// LeNet-5's dense export holds the parameters of `nn.Conv2d(1, 6, 5, padding=2)`, ...,
    /// `nn.Linear(84, 10)` and nothing else; the masks are beside it and load back with it.
    @Test func denseExportIsAStateDictWithMasksBeside() throws {
        let trained = try SparseFileTests.trainer("lenet-5", side: 28, classes: 10, method: "static", steps: 2)
        let dir = TemporaryDirectory()
        let path = dir.file("w.safetensors")
        try trained.writeWeights(to: path, format: .dense)
        let (tensors, metadata) = try Safetensors.read(path: path)
        #expect(Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0.shape) }) == PyTorchExportTests.lenet5Parameters)
        #expect(metadata["masks"] == "w.masks.safetensors")
        let sidecar = try Safetensors.read(path: dir.file("w.masks.safetensors"))
        #expect(sidecar.metadata["weights"] == "w.safetensors")
        #expect(Set(sidecar.tensors.map(\.name)) == Set(trained.model.sparseLayers.map {
            trained.model.store.specs[$0.layer.weightIndex].name + "_mask" }))
        for mask in sidecar.tensors {
            let weight = tensors.first { $0.name + "_mask" == mask.name }!
            #expect(mask.shape == weight.shape && mask.values.allSatisfy { $0 == 0 || $0 == 1 })
            #expect(zip(mask.values, weight.values).allSatisfy { $0 == 1 || $1 == 0 })
        }
        let fresh = try SparseFileTests.trainer("lenet-5", side: 28, classes: 10, method: "static", steps: 1, seed: 2)
        #expect(SparseFileTests.patterns(fresh) != SparseFileTests.patterns(trained))
        let read = try MaskSidecar.read(path: path)
        try fresh.load(read.tensors, masks: read.masks, metadata: read.metadata, source: path)
        #expect(SparseFileTests.patterns(fresh) == SparseFileTests.patterns(trained))
        #expect(SparseFileTests.values(fresh).map(\.bitPattern) == SparseFileTests.values(trained).map(\.bitPattern))
        // without its sidecar the file does not load, and the error names the sidecar
        try FileManager.default.removeItem(atPath: dir.file("w.masks.safetensors"))
        let alone = try MaskSidecar.read(path: path)
        #expect(alone.masks.isEmpty)
        let error = sprigError { try fresh.load(alone.tensors, masks: alone.masks, metadata: alone.metadata, source: path) }
        #expect(error?.message.contains("w.masks.safetensors") == true)
        // the sparse form writes no sidecar and removes a stale one
        try trained.writeWeights(to: path, format: .dense)
        #expect(FileManager.default.fileExists(atPath: dir.file("w.masks.safetensors")))
        try trained.writeWeights(to: path, format: .sparse)
        #expect(!FileManager.default.fileExists(atPath: dir.file("w.masks.safetensors")))
    }

    /// An export of the older layout (masks `fcN.mask` in the weights file) still reads:
    /// the masks come out as `fcN.weight_mask` and the parameters without them.
    @Test func legacyMasksInTheWeightsFileStillRead() throws {
        let trained = try SparseFileTests.trainer("{mlp: [64, 16, 4]}", side: 8, classes: 4, method: "rigl", steps: 2)
        let dir = TemporaryDirectory()
        let legacy = trained.maskTensors().map { m -> NamedTensor in
            var t = m
            t.name = String(m.name.dropLast("weight_mask".count)) + "mask"
            return t
        }
        #expect(legacy.map(\.name) == ["fc1.mask", "fc2.mask"])
        try Safetensors.write(trained.tensors() + legacy, metadata: trained.exportMetadata, to: dir.file("old.safetensors"))
        let read = try MaskSidecar.read(path: dir.file("old.safetensors"))
        #expect(read.tensors == trained.tensors() && read.masks == trained.maskTensors())
    }

    /// The metadata names the whole input normalisation, and its mean and std parse back to
    /// the bits Sprig normalises with, so `(p / 255 - mean) / std` in float32 is Sprig's table.
    @Test func metadataStatesTheNormalisation() throws {
        let trained = try SparseFileTests.trainer("{mlp: [64, 16, 4]}", side: 8, classes: 4, method: "rigl", steps: 1)
        let metadata = trained.exportMetadata
        #expect(metadata["input_scale"] == "1/255" && metadata["input_shape"] == "[64]")
        #expect(metadata["input_normalization"]?.hasPrefix("x = (pixel / 255 - input_mean[c]) / input_std[c]") == true)
        #expect(metadata["input_dtype"] == "uint8" && metadata["data_shape"] == "[1, 8, 8]" && metadata["data_format"] == "idx")
        #expect(metadata["classes"] == "4")
        let mean = try #require(Float(metadata["input_mean"]!)), std = try #require(Float(metadata["input_std"]!))
        #expect((0..<256).map { ((Float($0) / 255 - mean) / std).bitPattern } == trained.normalization.table.map(\.bitPattern))
    }

    /// The forward pass in PyTorch's terms: LeNet-5 is conv, ReLU, pool twice, flatten, and
    /// three linear layers (400 features in); LeNet-300-100 three linear layers.
    @Test func architectureMetadataDescribesTheForwardPass() throws {
        func ops(_ name: String) throws -> [[String: Any]] {
            let json = ModelArchitecture.zoo[name]!.pytorchLayers
            return try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        }
        let lenet5 = try ops("lenet-5")
        #expect(lenet5.map { $0["op"] as? String } == ["conv2d", "relu", "max_pool2d", "conv2d", "relu", "max_pool2d",
                                                        "flatten", "linear", "relu", "linear", "relu", "linear"])
        #expect(lenet5[0]["padding"] as? Int == 2 && lenet5[3]["padding"] as? Int == 0 && lenet5[2]["kernel_size"] as? Int == 2)
        #expect(lenet5.compactMap { $0["name"] as? String } == ["conv1", "conv2", "fc1", "fc2", "fc3"])
        #expect(lenet5[7]["in_features"] as? Int == 400 && lenet5[11]["out_features"] as? Int == 10)
        #expect(ModelArchitecture.zoo["lenet-5"]!.inputShape == [1, 28, 28])
        let mlp = try ops("lenet-300-100")
        #expect(mlp.map { $0["op"] as? String } == ["linear", "relu", "linear", "relu", "linear"])
        #expect(mlp.map { $0["in_features"] as? Int } == [784, nil, 300, nil, 100])
        #expect(ModelArchitecture.zoo["lenet-300-100"]!.inputShape == [784])
    }
}
