import Foundation
import Sprig

extension Trainer {
    /// The title of the `--pictures` connectivity maps: what they show (the first layer's
    /// active connections per input pixel, out of its outputs) and, on a second line, the
    /// run (model, method, and that layer's sparsity at the end). Empty when it is dense.
    var connectivityTitle: String {
        guard let layer = model.layers.first as? SparseLinear else { return "" }
        let spec = model.store.specs[layer.weightIndex].name
        let name = spec.hasSuffix(".weight") ? String(spec.dropLast(".weight".count)) : spec
        let density = Double(layer.pattern.activeCount) / Double(layer.inputFeatures * layer.outputFeatures)
        return "\(name) active connections per input pixel (out of \(layer.outputFeatures))\n"
            + "\(config.modelName), \(config.sparsity.method.name), " + String(format: "%@ %.1f%% sparse", name, 100 * (1 - density))
    }
}
