import SprigTensor
import SprigData
import SprigExport
import SprigLayers
import SprigSparsity
import SprigModels
import SprigDistributed

/// The trained model as named tensors and metadata (`--weights-out`, `sprig eval`).
extension Trainer {
    /// The metadata of an export: the effective config, and what a reader needs to use
    /// the weights (input normalisation `x = (p / 255 - mean) / std`, feature-major
    /// layout note).
    public var exportMetadata: [String: String] {
        ["format": "sprig", "config": config.yaml, "model": config.modelName, "step": String(step),
         "input_mean": String(normalization.mean), "input_std": String(normalization.std),
         "layout": "weights are out x in; fcN.mask is 1 where a connection is active; y = W x + b, ReLU between layers"]
    }

    /// Loads exported tensors (`tensors()` of a run of the same config) into the model:
    /// masks from `fcN.mask`, values from the dense-shaped weights.
    public func load(_ tensors: [NamedTensor], source: String) throws {
        let byName = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for (_, layer) in model.sparseLayers {
            let name = model.store.specs[layer.weightIndex].name
            let shape = model.store.specs[layer.weightIndex].shape
            guard let mask = byName[name.replacingOccurrences(of: ".weight", with: ".mask")], mask.shape == shape else {
                throw SprigError(source, "no mask of shape \(shape) for \(name)")
            }
            let active = mask.values.indices.filter { mask.values[$0] != 0 }
            layer.setPattern(SparsePattern(rows: layer.outputFeatures, cols: layer.inputFeatures, activeIndices: active))
        }
        let sparseByIndex = Dictionary(uniqueKeysWithValues: model.sparseLayers.map { ($0.layer.weightIndex, $0.layer) })
        for (i, spec) in model.store.specs.enumerated() {
            guard let t = byName[spec.name], t.shape == spec.shape else {
                throw SprigError(source, "no tensor \(spec.name) of shape \(spec.shape)")
            }
            let values = sparseByIndex[i].map { layer in layer.pattern.activeIndices.map { t.values[$0] } } ?? t.values
            (model.store.values + model.store.offsets[i]).update(from: values, count: values.count)
        }
    }

    /// The model's tensors, for export: dense-shaped weights (zero at inactive
    /// connections), biases, and for each sparse layer its mask (`fcN.mask`, 1 where
    /// active).
    public func tensors() -> [NamedTensor] {
        let sparseByIndex = Dictionary(uniqueKeysWithValues: model.sparseLayers.map { ($0.layer.weightIndex, $0.layer) })
        var out: [NamedTensor] = []
        for (i, spec) in model.store.specs.enumerated() {
            let values = model.store.valuesArray(i)
            guard let layer = sparseByIndex[i] else {
                out.append(NamedTensor(name: spec.name, shape: spec.shape, values: values))
                continue
            }
            var dense = [Float](repeating: 0, count: spec.denseCount)
            var mask = [Float](repeating: 0, count: spec.denseCount)
            for (k, index) in layer.pattern.activeIndices.enumerated() {
                dense[index] = values[k]
                mask[index] = 1
            }
            out.append(NamedTensor(name: spec.name, shape: spec.shape, values: dense))
            out.append(NamedTensor(name: spec.name.replacingOccurrences(of: ".weight", with: ".mask"), shape: spec.shape, values: mask))
        }
        return out
    }
}
