import SprigTensor
import SprigLayers

/// The widths of a multilayer perceptron once the inputs and neurons that no path uses are
/// removed: RigL's "compressed" architecture (Evci et al. 2020, appendix B, where
/// LeNet-300-100 ends as 408-100-69; `get_compressed_fc` in google-research/rigl's
/// `mnist_train_eval.py`). An input stays when the first layer has a connection from it; a
/// hidden neuron stays when it has a connection in from a kept unit of the layer before and
/// a connection out; the output layer stays whole.
public enum ConnectedWidths {
    /// The widths, inputs first, of `model` when its weight layers are fully connected layers
    /// in a chain (dense ones count as fully connected); nil for other models.
    public static func of(_ model: Sequential) -> [Int]? {
        var patterns: [SparsePattern] = []
        for leaf in model.leaves {
            if let s = leaf as? SparseLinear {
                patterns.append(s.pattern)
            } else if let d = leaf as? Linear {
                patterns.append(.dense(rows: d.outputFeatures, cols: d.inputFeatures))
            } else if !leaf.parameterSpecs.isEmpty || leaf.inputFeatures != leaf.outputFeatures {
                return nil // a convolution, a batch norm, a pooling: not a perceptron
            }
        }
        return patterns.isEmpty ? nil : widths(patterns)
    }

    /// The widths for weight layers `patterns` (rows: outputs, columns: inputs), in order.
    public static func widths(_ patterns: [SparsePattern]) -> [Int] {
        var kept = [Bool](repeating: false, count: patterns[0].cols)
        for c in patterns[0].columns { kept[Int(c)] = true }
        var widths = [kept.filter { $0 }.count]
        for (l, p) in patterns.enumerated() {
            var next = [Bool](repeating: false, count: p.rows)
            for r in 0..<p.rows {
                next[r] = (Int(p.rowStart[r])..<Int(p.rowStart[r + 1])).contains { kept[Int(p.columns[$0])] }
            }
            if l + 1 < patterns.count {
                var out = [Bool](repeating: false, count: p.rows)
                for c in patterns[l + 1].columns { out[Int(c)] = true }
                for r in 0..<p.rows { next[r] = next[r] && out[r] }
            } else {
                next = [Bool](repeating: true, count: p.rows)
            }
            kept = next
            widths.append(kept.filter { $0 }.count)
        }
        return widths
    }
}
