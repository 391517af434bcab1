import Foundation
import SprigTensor
import SprigData
import SprigExport
import SprigLayers
import SprigSparsity
import SprigModels
import SprigDistributed

/// The trained model as named tensors and metadata (`--weights-out`, `sprig eval`), in the
/// dense form (dense-shaped weights, a PyTorch module's `state_dict`, with the masks in a
/// sidecar file, `MaskSidecar`) or the sparse one (CSR, `CSRTensors`); see `WeightsFormat`.
extension Trainer {
    /// The metadata of an export: the effective config, and what a reader needs to use the
    /// weights without Sprig: the data's format and example shape (`data_format`,
    /// `data_shape`, `classes`, `class_names` when the files name them, CIFAR-100's
    /// `data_label` and NumPy's `data_layout`), the input
    /// normalisation per channel in float32 (`input_mean`, `input_std`: a JSON number for
    /// one channel, a list for several; `input_scale` 1/255 for bytes, 1 for floats;
    /// `Normalization`), the model's input shape, the forward pass in PyTorch's terms
    /// (`architecture`, see `ModelArchitecture.pytorchLayers`) and a layout note.
    public var exportMetadata: [String: String] {
        let bytes = normalization.scalesBytes
        var metadata = [
            "format": "sprig", "config": config.yaml, "model": config.modelName, "step": String(step),
            "input_mean": Normalization.json(normalization.mean), "input_std": Normalization.json(normalization.std),
            "input_scale": bytes ? "1/255" : "1", "input_dtype": data.train.values.elementType,
            "input_normalization": bytes
                ? "x = (pixel / 255 - input_mean[c]) / input_std[c], in float32, pixel the uint8 value of channel c (one channel: input_mean is a number)"
                : "x = (value - input_mean[c]) / input_std[c], in float32, value the float32 value of channel c (one channel: input_mean is a number)",
            "data_format": data.format.rawValue, "data_shape": CSRTensors.shapeText(data.train.exampleShape),
            "classes": String(data.classes),
            "input_shape": CSRTensors.shapeText(config.model.inputShape), "architecture": config.model.pytorchLayers,
            "output": "logits (no softmax); the prediction is their argmax",
            "layout": "the state_dict of a torch.nn.Module with the layers of 'architecture' as attributes (conv1, fc1, ...): "
                + "Linear weights [out, in] (y = x W^T + b), Conv2d weights [O, C, k, k]; input NCHW (an MLP's: the example's "
                + "values in (C, H, W) order, data_shape flattened); a ReLU after every conv and linear layer but the last; max "
                + "pooling after the ReLU; flatten in (C, H, W) order before the first linear layer; inactive weights are 0, "
                + "masks in the file 'masks' names (1 where active)"]
        if case .graph = config.model {
            metadata["layout"] = "the state_dict of the torch.nn.Module that 'architecture' describes (python/sprig_torch.py builds it): "
                + "parameters named by module path (layer1.0.conv1.weight), Conv2d weights [O, C, k, k], Linear weights [out, in]; "
                + "batch norm as torch.nn.BatchNorm2d/1d (momentum 0.1, eps 1e-5) with its buffers running_mean, running_var and "
                + "num_batches_tracked; input NCHW; inactive weights are 0, masks in the file 'masks' names (1 where active)"
        }
        if let names = data.classNames { metadata["class_names"] = "[" + names.map(JSONLine.quote).joined(separator: ", ") + "]" }
        if data.format == .cifar100 { metadata["data_label"] = (config.data.label ?? .fine).rawValue }
        if data.format == .npz { metadata["data_layout"] = (config.data.layout ?? .nchw).rawValue }
        return metadata
    }

    /// Dense values of the sparse layers' weights (what `WeightsFormat.auto` weighs).
    public var sparseDenseValues: Int {
        model.sparseLayers.reduce(0) { $0 + model.store.specs[$1.layer.weightIndex].denseCount }
    }

    /// The export in `format`: tensors, metadata and, in the dense form, the sparse layers'
    /// masks for the sidecar file (`MaskSidecar`), ready for `Safetensors.write`.
    public func weightsFile(format: WeightsFormat) -> (tensors: [NamedTensor], metadata: [String: String], masks: [NamedTensor]) {
        guard format.isSparse(sparseDenseValues: sparseDenseValues) else { return (tensors(), exportMetadata, maskTensors()) }
        var metadata = exportMetadata
        metadata[CSRTensors.formatKey] = CSRTensors.formatValue
        metadata["layout"] = "sparse weights in CSR form (fcN.weight.crow_indices, .col_indices, .values; dense shape in "
            + "metadata fcN.weight.shape; a convolution's matrix is O x (C k k), columns (c, ky, kx)); rows are out, "
            + "columns in; densified, the tensors are the state_dict of the module of 'architecture' (see the dense layout)"
        for (_, layer) in model.sparseLayers {
            let spec = model.store.specs[layer.weightIndex]
            metadata[CSRTensors.shapeKey(spec.name)] = CSRTensors.shapeText(spec.shape)
        }
        return (sparseTensors(), metadata, [])
    }

    /// Writes the export in `format` to `path` (atomically); in the dense form the masks go
    /// to `MaskSidecar.path(for: path)`, written first, and its file name is the metadata's
    /// `masks`. The sparse form needs none, and removes a sidecar left by an earlier export.
    public func writeWeights(to path: String, format: WeightsFormat) throws {
        var (tensors, metadata, masks) = weightsFile(format: format)
        let sidecar = MaskSidecar.path(for: path)
        if masks.isEmpty {
            if metadata[CSRTensors.formatKey] == nil { metadata["masks"] = "none (no sparse layer)" }
            try? FileManager.default.removeItem(atPath: sidecar)
        } else {
            try Safetensors.write(masks, metadata: ["format": "sprig-masks", "weights": (path as NSString).lastPathComponent],
                                  to: sidecar)
            metadata["masks"] = (sidecar as NSString).lastPathComponent
        }
        try Safetensors.write(tensors, metadata: metadata, to: path)
    }

    /// Loads exported tensors (of a run of the same config) into the model. Each sparse
    /// layer comes from its CSR parts when the file has them (never densified), else from
    /// its mask `fcN.weight_mask` (in `masks`, from `MaskSidecar.read`) and the dense-shaped
    /// weight; `metadata` holds the CSR dense shapes.
    public func load(_ tensors: [NamedTensor], masks: [NamedTensor] = [], metadata: [String: String] = [:], source: String) throws {
        let byName = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let masksByName = Dictionary(masks.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
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
            guard let mask = masksByName[MaskSidecar.maskName(name)], mask.shape == shape, mask.dtype == .f32 else {
                throw SprigError(source, "no mask \(MaskSidecar.maskName(name)) of shape \(shape) for \(name) (the masks are "
                                 + "in \(MaskSidecar.path(for: source)), written with the weights)")
            }
            let active = mask.values.indices.filter { mask.values[$0] != 0 }
            layer.setPattern(SparsePattern(rows: layer.outputFeatures, cols: layer.inputFeatures, activeIndices: active))
        }
        let sparseByIndex = Dictionary(uniqueKeysWithValues: model.sparseLayers.map { ($0.layer.weightIndex, $0.layer) })
        for (i, spec) in model.store.specs.enumerated() {
            if let values = sparseValues[i] {
                model.store.setValues(values, of: i)
                continue
            }
            guard let t = byName[spec.name], t.shape == spec.shape, t.dtype == .f32 else {
                throw SprigError(source, "no tensor \(spec.name) of shape \(spec.shape)")
            }
            let values = sparseByIndex[i].map { layer in layer.pattern.activeIndices.map { t.values[$0] } } ?? t.values
            model.store.setValues(values, of: i)
        }
        for (name, bn) in zip(model.batchNormNames, model.batchNorms) {
            guard let mean = byName["\(name).running_mean"], mean.shape == [bn.channels], mean.dtype == .f32,
                  let variance = byName["\(name).running_var"], variance.shape == [bn.channels], variance.dtype == .f32,
                  let tracked = byName["\(name).num_batches_tracked"], tracked.dtype == .i64, tracked.count == 1 else {
                throw SprigError(source, "no running statistics for batch norm \(name) (\(name).running_mean and .running_var, "
                                 + "float32 [\(bn.channels)], and .num_batches_tracked, int64)")
            }
            bn.setRunningStatistics(mean: mean.values, variance: variance.values, batchesTracked: Int(tracked.integers[0]))
        }
    }

    /// The model's tensors in the dense form, exactly the `state_dict` of the PyTorch module
    /// of `ModelArchitecture.pytorchLayers`: dense-shaped weights (zero at inactive
    /// connections) and biases.
    public func tensors() -> [NamedTensor] {
        let sparseByIndex = Dictionary(uniqueKeysWithValues: model.sparseLayers.map { ($0.layer.weightIndex, $0.layer) })
        return withRunningStatistics(model.store.specs.enumerated().map { i, spec in
            let values = model.store.valuesArray(i)
            guard let layer = sparseByIndex[i] else { return [NamedTensor(name: spec.name, shape: spec.shape, values: values)] }
            var dense = [Float](repeating: 0, count: spec.denseCount)
            for (k, index) in layer.pattern.activeIndices.enumerated() { dense[index] = values[k] }
            return [NamedTensor(name: spec.name, shape: spec.shape, values: dense)]
        })
    }

    /// The tensors of every store tensor (one list each), with each batch norm's buffers
    /// after its bias, as PyTorch's state_dict orders them: `running_mean`, `running_var`
    /// (float32 [C]) and `num_batches_tracked` (int64, a scalar).
    private func withRunningStatistics(_ perSpec: [[NamedTensor]]) -> [NamedTensor] {
        let buffers = Dictionary(uniqueKeysWithValues: zip(model.batchNormNames, model.batchNorms).map { name, bn in
            ("\(name).bias", [NamedTensor(name: "\(name).running_mean", shape: [bn.channels], values: bn.runningMean),
                              NamedTensor(name: "\(name).running_var", shape: [bn.channels], values: bn.runningVariance),
                              NamedTensor(name: "\(name).num_batches_tracked", shape: [], integers: [Int64(bn.batchesTracked)])])
        })
        return zip(model.store.specs, perSpec).flatMap { spec, tensors in tensors + (buffers[spec.name] ?? []) }
    }

    /// The sparse layers' masks for the sidecar file: `fcN.weight_mask`, dense-shaped, 1
    /// where a connection is active (`MaskSidecar`).
    public func maskTensors() -> [NamedTensor] {
        model.sparseLayers.map { _, layer in
            let spec = model.store.specs[layer.weightIndex]
            var mask = [Float](repeating: 0, count: spec.denseCount)
            for index in layer.pattern.activeIndices { mask[index] = 1 }
            return NamedTensor(name: MaskSidecar.maskName(spec.name), shape: spec.shape, values: mask)
        }
    }

    /// The model's tensors in the sparse form: each sparse weight as its CSR parts (active
    /// values only), dense weights and biases as they are.
    public func sparseTensors() -> [NamedTensor] {
        let sparseByIndex = Dictionary(uniqueKeysWithValues: model.sparseLayers.map { ($0.layer.weightIndex, $0.layer) })
        return withRunningStatistics(model.store.specs.enumerated().map { i, spec in
            let values = model.store.valuesArray(i)
            guard let layer = sparseByIndex[i] else { return [NamedTensor(name: spec.name, shape: spec.shape, values: values)] }
            return CSRTensors.tensors(name: spec.name, pattern: layer.pattern, values: values)
        })
    }
}
