import SprigTensor
import SprigData
import SprigExport
import SprigLayers
import SprigSparsity
import SprigModels
import SprigDistributed

/// The trained model as named tensors and metadata (`--weights-out`, `sprig eval`), in the
/// dense form (dense-shaped weights and `fcN.mask`) or the sparse one (CSR, `CSRTensors`);
/// see `WeightsFormat`.
extension Trainer {
    /// The metadata of an export: the effective config, and what a reader needs to use
    /// the weights (input normalisation `x = (p / 255 - mean) / std`, feature-major
    /// layout note).
    public var exportMetadata: [String: String] {
        ["format": "sprig", "config": config.yaml, "model": config.modelName, "step": String(step),
         "input_mean": String(normalization.mean), "input_std": String(normalization.std),
         "layout": "weights are out x in; fcN.mask is 1 where a connection is active; y = W x + b, ReLU between layers"]
    }

    /// Dense values of the sparse layers' weights (what `WeightsFormat.auto` weighs).
    public var sparseDenseValues: Int {
        model.sparseLayers.reduce(0) { $0 + model.store.specs[$1.layer.weightIndex].denseCount }
    }

    /// The export in `format`: tensors and metadata, ready for `Safetensors.write`.
    public func weightsFile(format: WeightsFormat) -> (tensors: [NamedTensor], metadata: [String: String]) {
        guard format.isSparse(sparseDenseValues: sparseDenseValues) else { return (tensors(), exportMetadata) }
        var metadata = exportMetadata
        metadata[CSRTensors.formatKey] = CSRTensors.formatValue
        metadata["layout"] = "sparse weights in CSR form (fcN.weight.crow_indices, .col_indices, .values; dense shape in "
            + "metadata fcN.weight.shape); rows are out, columns in; y = W x + b, ReLU between layers"
        for (_, layer) in model.sparseLayers {
            let spec = model.store.specs[layer.weightIndex]
            metadata[CSRTensors.shapeKey(spec.name)] = CSRTensors.shapeText(spec.shape)
        }
        return (sparseTensors(), metadata)
    }

    /// Writes the export in `format` to `path` (atomically).
    public func writeWeights(to path: String, format: WeightsFormat) throws {
        let (tensors, metadata) = weightsFile(format: format)
        try Safetensors.write(tensors, metadata: metadata, to: path)
    }

    /// Loads exported tensors (of a run of the same config) into the model. Each sparse
    /// layer comes from its CSR parts when the file has them (never densified), else from
    /// `fcN.mask` and the dense-shaped weight; `metadata` holds the CSR dense shapes.
    public func load(_ tensors: [NamedTensor], metadata: [String: String] = [:], source: String) throws {
        let byName = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let sparseFile = metadata[CSRTensors.formatKey] == CSRTensors.formatValue
        var sparseValues: [Int: [Float]] = [:]
        for (_, layer) in model.sparseLayers {
            let name = model.store.specs[layer.weightIndex].name
            let shape = model.store.specs[layer.weightIndex].shape
            if sparseFile || CSRTensors.holds(name, in: byName) {
                guard metadata[CSRTensors.shapeKey(name)] == CSRTensors.shapeText(shape) else {
                    throw SprigError(source, "sparse weight \(name): metadata \(CSRTensors.shapeKey(name)) is "
                                     + "\(metadata[CSRTensors.shapeKey(name)].map { "'\($0)'" } ?? "missing"), expected '\(CSRTensors.shapeText(shape))'")
                }
                let (pattern, values) = try CSRTensors.read(name, rows: layer.outputFeatures, cols: layer.inputFeatures,
                                                            from: byName, source: source)
                layer.setPattern(pattern)
                sparseValues[layer.weightIndex] = values
                continue
            }
            guard let mask = byName[name.replacingOccurrences(of: ".weight", with: ".mask")], mask.shape == shape, mask.dtype == .f32 else {
                throw SprigError(source, "no mask of shape \(shape) for \(name)")
            }
            let active = mask.values.indices.filter { mask.values[$0] != 0 }
            layer.setPattern(SparsePattern(rows: layer.outputFeatures, cols: layer.inputFeatures, activeIndices: active))
        }
        let sparseByIndex = Dictionary(uniqueKeysWithValues: model.sparseLayers.map { ($0.layer.weightIndex, $0.layer) })
        for (i, spec) in model.store.specs.enumerated() {
            if let values = sparseValues[i] {
                (model.store.values + model.store.offsets[i]).update(from: values, count: values.count)
                continue
            }
            guard let t = byName[spec.name], t.shape == spec.shape, t.dtype == .f32 else {
                throw SprigError(source, "no tensor \(spec.name) of shape \(spec.shape)")
            }
            let values = sparseByIndex[i].map { layer in layer.pattern.activeIndices.map { t.values[$0] } } ?? t.values
            (model.store.values + model.store.offsets[i]).update(from: values, count: values.count)
        }
    }

    /// The model's tensors in the dense form: dense-shaped weights (zero at inactive
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

    /// The model's tensors in the sparse form: each sparse weight as its CSR parts (active
    /// values only), dense weights and biases as they are.
    public func sparseTensors() -> [NamedTensor] {
        let sparseByIndex = Dictionary(uniqueKeysWithValues: model.sparseLayers.map { ($0.layer.weightIndex, $0.layer) })
        return model.store.specs.enumerated().flatMap { i, spec in
            let values = model.store.valuesArray(i)
            guard let layer = sparseByIndex[i] else { return [NamedTensor(name: spec.name, shape: spec.shape, values: values)] }
            return CSRTensors.tensors(name: spec.name, pattern: layer.pattern, values: values)
        }
    }
}
