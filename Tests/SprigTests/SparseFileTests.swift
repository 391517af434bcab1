import Foundation
import Testing
@testable import Sprig
@testable import SprigExport
@testable import SprigTensor
@testable import SprigTraining

/// Sparse weight files (CSR in safetensors) and CSR checkpoint masks: round trips, layers
/// past 2^31 positions without dense memory, damaged CSR, version-1 checkpoints.
@Suite struct SparseFileTests {
    /// A trainer of `model` on synthetic data after `steps` steps of `method`.
    static func trainer(_ model: String, side: Int, classes: Int, method: String, steps: Int, seed: Int = 1) throws -> Trainer {
        let dir = TemporaryDirectory()
        writeSyntheticMNIST(in: dir, train: 40, test: 10, side: side, classes: classes)
        var config = try TrainingConfig.parse(text: "model: \(model)\nbatch_size: 20\nmax_steps: \(steps)\nseed: \(seed)\n"
                                              + "sparsity: {method: \(method), sparsity: 0.8\(method == "rigl" ? ", delta_t: 1" : "")}",
                                              source: "t.yaml")
        config.data.path = dir.path
        let trainer = try Trainer(config: config, replicas: .single(), data: try DataSource(path: dir.path, classes: classes).load())
        try trainer.train { _ in }
        return trainer
    }

    static func patterns(_ trainer: Trainer) -> [SparsePattern] { trainer.model.sparseLayers.map(\.layer.pattern) }
    static func values(_ trainer: Trainer) -> [Float] { trainer.model.store.snapshot().values }

    /// Sparse export -> file -> load into a fresh model gives the same patterns and bits,
    /// for fully connected layers and convolutions (4-D dense shape in the metadata).
    @Test(arguments: [("{mlp: [64, 16, 4]}", 8, 4, "rigl"), ("lenet-5", 28, 10, "static")])
    func sparseExportRoundTrips(model: String, side: Int, classes: Int, method: String) throws {
        let trained = try SparseFileTests.trainer(model, side: side, classes: classes, method: method, steps: 2)
        let dir = TemporaryDirectory()
        try trained.writeWeights(to: dir.file("w.safetensors"), format: .sparse)
        let (tensors, metadata) = try Safetensors.read(path: dir.file("w.safetensors"))
        #expect(metadata[CSRTensors.formatKey] == "sparse_csr")
        #expect(!tensors.contains { $0.name.hasSuffix(".mask") })
        for (_, layer) in trained.model.sparseLayers {
            let spec = trained.model.store.specs[layer.weightIndex]
            #expect(metadata[spec.name + ".shape"] == CSRTensors.shapeText(spec.shape))
            #expect(tensors.first { $0.name == spec.name + ".values" }?.count == layer.pattern.activeCount)
        }
        if model == "lenet-5" { #expect(metadata["conv1.weight.shape"] == "[6, 1, 5, 5]") }
        let fresh = try SparseFileTests.trainer(model, side: side, classes: classes, method: method, steps: 1, seed: 2)
        #expect(SparseFileTests.patterns(fresh) != SparseFileTests.patterns(trained))
        try fresh.load(tensors, metadata: metadata, source: "w.safetensors")
        #expect(SparseFileTests.patterns(fresh) == SparseFileTests.patterns(trained))
        #expect(SparseFileTests.values(fresh).map(\.bitPattern) == SparseFileTests.values(trained).map(\.bitPattern))
        // the dense form of the loaded model is the dense form of the trained one
        #expect(fresh.tensors() == trained.tensors())
        // auto writes the dense form for a small model
        #expect(trained.weightsFile(format: .auto).tensors == trained.tensors())
    }

    /// A 70000 x 70000 layer (4.9e9 positions, past Int32 flat indices) with a few hundred
    /// active entries goes through the sparse export and a checkpoint; nothing dense-sized
    /// is allocated (19.6 GB would be), and the files follow the active entries.
    @Test func layerPast2To31PositionsRoundTrips() throws {
        let rows = 70000, cols = 70000
        var random = StatelessRandom(seed: 3, purpose: .shuffle)
        let active = Array(Set((0..<300).map { _ in random.nextInt(below: rows) * cols + random.nextInt(below: cols) }))
            + [rows * cols - 1, Int(Int32.max) + 5]
        let pattern = SparsePattern(rows: rows, cols: cols, activeIndices: active)
        let values = (0..<pattern.activeCount).map { Float($0) * 0.5 - 7 }

        let file = Safetensors.encode(CSRTensors.tensors(name: "fc1.weight", pattern: pattern, values: values))
        #expect(file.count < 8 * (rows + 1) + 12 * pattern.activeCount + 1024)
        let read = try Safetensors.decode(file, source: "big.safetensors").tensors
        let back = try CSRTensors.read("fc1.weight", rows: rows, cols: cols,
                                       from: Dictionary(uniqueKeysWithValues: read.map { ($0.name, $0) }), source: "big.safetensors")
        #expect(back.pattern == pattern && back.values == values)
        #expect(back.pattern.activeIndices.contains(Int(Int32.max) + 5))

        let checkpoint = Checkpoint(step: 7, seed: 1, configText: "", configSource: "c.yaml", names: ["fc1.weight"],
                                    counts: [values.count], values: values, states: [], optimizerSteps: 7,
                                    masks: [Checkpoint.Mask(pattern)], averages: [], maskUpdates: 0, connectionsChanged: 0,
                                    flops: 0, denseFLOPs: 0)
        let bytes = checkpoint.encode()
        #expect(UInt32(le: bytes, at: 8) == 2)
        #expect(bytes.count < 4 * (rows + 1) + 8 * pattern.activeCount + 4096)
        let decoded = try Checkpoint.decode(bytes, source: "big.ckpt")
        #expect(decoded == checkpoint)
        #expect(try decoded.masks[0].pattern(rows: rows, cols: cols) { SprigError("big.ckpt", $0) } == pattern)
    }

    /// Damaged CSR parts are rejected with a message naming the file, the weight and what is wrong.
    @Test func badCSRIsRejected() throws {
        let pattern = SparsePattern(rows: 3, cols: 4, activeIndices: [1, 2, 4, 11])
        let good = CSRTensors.tensors(name: "fc1.weight", pattern: pattern, values: [1, 2, 3, 4])
        func message(_ change: (inout [String: NamedTensor]) -> Void) -> String? {
            var byName = Dictionary(uniqueKeysWithValues: good.map { ($0.name, $0) })
            change(&byName)
            return sprigError { _ = try CSRTensors.read("fc1.weight", rows: 3, cols: 4, from: byName, source: "bad.safetensors") }
                .map(\.description)
        }
        #expect(message { _ in } == nil)
        #expect(message { $0["fc1.weight.col_indices"]!.integers = [2, 1, 0, 3] }
                == "bad.safetensors: sparse weight fc1.weight: the columns of row 0 are not ascending (2 then 1)")
        #expect(message { $0["fc1.weight.crow_indices"] = NamedTensor(name: "fc1.weight.crow_indices", shape: [3], integers: [0, 2, 4]) }
                == "bad.safetensors: sparse weight fc1.weight: crow_indices has shape [3], expected [4] (rows + 1 of a 3 x 4 matrix)")
        #expect(message { $0["fc1.weight.crow_indices"]!.integers = [0, 3, 2, 4] }?.contains("crow_indices decrease at row 1") == true)
        #expect(message { $0["fc1.weight.col_indices"]!.integers = [1, 2, 0, 4] }?.contains("column 4 in row 2 is outside 0..<4") == true)
        #expect(message { $0["fc1.weight.values"] = nil }?.contains("needs the tensors") == true)
        #expect(message { $0["fc1.weight.values"] = NamedTensor(name: "fc1.weight.values", shape: [3], values: [1, 2, 3]) }?
            .contains("must be 1-D of the same length") == true)

        // Through Trainer.load: a sparse file without the dense shape in its metadata.
        let trainer = try SparseFileTests.trainer("{mlp: [64, 16, 4]}", side: 8, classes: 4, method: "static", steps: 1)
        var (tensors, metadata, _) = trainer.weightsFile(format: .sparse)
        metadata["fc1.weight.shape"] = nil
        #expect(sprigError { try trainer.load(tensors, metadata: metadata, source: "m.safetensors") }?.description
                == "m.safetensors: sparse weight fc1.weight: metadata fc1.weight.shape is missing, expected '[16, 64]'")
        tensors.removeAll { $0.name == "fc1.weight.crow_indices" }
        metadata["fc1.weight.shape"] = "[16, 64]"
        #expect(sprigError { try trainer.load(tensors, metadata: metadata, source: "m.safetensors") }?.message.contains("needs the tensors") == true)
    }

    /// I64 tensors round-trip through safetensors; other dtypes are rejected naming the file.
    @Test func safetensorsInt64() throws {
        let tensors = [NamedTensor(name: "i", shape: [3], integers: [0, -1, Int64(Int32.max) + 2]),
                       NamedTensor(name: "f", shape: [1], values: [2.5])]
        #expect(try Safetensors.decode(Safetensors.encode(tensors), source: "s").tensors == tensors)
        var header = Array("{\"w\": {\"dtype\": \"I32\", \"shape\": [1], \"data_offsets\": [0, 4]}}".utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { bytes.append(contentsOf: $0) }
        #expect(sprigError { _ = try Safetensors.decode(bytes + header + [1, 0, 0, 0], source: "x.safetensors") }
                == SprigError("x.safetensors", "tensor 'w': dtype I32 is not supported (F32 and I64 only)"))
        #expect(throws: SprigError.self) { try WeightsFormat(parsing: "csr", option: "--weights-format") }
    }

    /// A version-1 checkpoint (masks as flat Int32 indices) still restores, to the same state.
    @Test func version1CheckpointIsRead() throws {
        let trained = try SparseFileTests.trainer("{mlp: [64, 16, 4]}", side: 8, classes: 4, method: "rigl", steps: 3)
        var old = trained.checkpoint()
        old.masks = trained.model.sparseLayers.map { .flat($0.layer.pattern.activeIndices.map { Int32($0) }) }
        let bytes = old.encode()
        #expect(UInt32(le: bytes, at: 8) == 1)
        #expect(!String(decoding: bytes.prefix(4096), as: UTF8.self).contains("mask_rows"))
        let decoded = try Checkpoint.decode(bytes, source: "v1.ckpt")
        #expect(decoded == old)
        let fresh = try SparseFileTests.trainer("{mlp: [64, 16, 4]}", side: 8, classes: 4, method: "rigl", steps: 1, seed: 2)
        try fresh.restore(decoded, source: "v1.ckpt")
        let (a, b) = (fresh.checkpoint(), trained.checkpoint())
        #expect(a.masks == b.masks && a.masks.allSatisfy { if case .csr = $0 { true } else { false } })
        #expect(a.values.map(\.bitPattern) == b.values.map(\.bitPattern) && a.states == b.states && a.step == b.step)
        // a damaged flat index is an error naming the file
        var bad = old
        bad.masks[0] = .flat([0, 0])
        #expect(sprigError { try fresh.restore(bad, source: "v1.ckpt") }?.description.hasPrefix("v1.ckpt:") == true)
    }
}
