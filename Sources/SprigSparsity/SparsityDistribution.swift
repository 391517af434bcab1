import SprigTensor
import SprigLayers

/// How a global sparsity S is spread over the sparse layers (RigL paper, section 3;
/// google-research/rigl `rigl/sparse_utils.py`).
public enum SparsityDistribution: String, CaseIterable, Sendable {
    /// Every sparse layer gets S.
    case uniform
    /// Erdos-Renyi: a layer's density is proportional to `(n_in + n_out) / (n_in n_out)`.
    case er
    /// Erdos-Renyi-Kernel: proportional to `sum(shape) / prod(shape)` (shape = out, in,
    /// kh, kw); for fully connected layers it equals ER.
    case erk

    /// A layer as the distribution sees it.
    public struct LayerShape: Equatable {
        public var name: String
        /// Dense weight shape: (out, in) or (out, in, kh, kw).
        public var shape: [Int]
        public init(name: String, shape: [Int]) {
            self.name = name
            self.shape = shape
        }
        public var count: Int { shape.reduce(1, *) }
    }

    /// Per-layer sparsities (fraction of zeros) for global sparsity `sparsity`.
    ///
    /// Layers named in `overrides` take the given sparsity and stay outside the budget.
    /// For ER and ERK the other layers share the budget `sum (1 - S) N_l`: solve
    /// `eps * sum p_l N_l = budget` for the raw densities `p_l`; when `eps * max p_l > 1`
    /// the layers with the largest `p` become dense, their extra weights are taken from the
    /// budget, and the solve repeats until no density exceeds 1.
    public func sparsities(of layers: [LayerShape], sparsity: Double, overrides: [String: Double] = [:]) -> [Double] {
        switch self {
        case .uniform:
            return layers.map { overrides[$0.name] ?? sparsity }
        case .er, .erk:
            // For fully connected layers ER and ERK coincide; for conv kernels ER uses the
            // channel counts only.
            let raw: [Double] = layers.map { layer in
                let s = self == .erk ? layer.shape : Array(layer.shape.prefix(2))
                return Double(s.reduce(0, +)) / Double(s.reduce(1, *))
            }
            var dense: Set<Int> = []
            var eps = 0.0
            while true {
                var budget = 0.0, divisor = 0.0, maxRaw = 0.0
                for (i, layer) in layers.enumerated() where overrides[layer.name] == nil {
                    let n = Double(layer.count)
                    if dense.contains(i) {
                        budget -= sparsity * n
                    } else {
                        budget += (1 - sparsity) * n
                        divisor += raw[i] * n
                        maxRaw = max(maxRaw, raw[i])
                    }
                }
                guard divisor > 0 else { break }
                eps = budget / divisor
                if eps * maxRaw > 1 {
                    for (i, layer) in layers.enumerated() where overrides[layer.name] == nil && !dense.contains(i) && raw[i] == maxRaw {
                        dense.insert(i)
                    }
                } else {
                    break
                }
            }
            return layers.enumerated().map { i, layer in
                if let o = overrides[layer.name] { return o }
                return dense.contains(i) ? 0 : max(0, 1 - eps * raw[i])
            }
        }
    }

    /// Active weights of a layer of `count` weights at `sparsity`: zeros are
    /// `floor(S * N)`, as in the reference code.
    public static func activeCount(count: Int, sparsity: Double) -> Int {
        count - Int((sparsity * Double(count)).rounded(.down))
    }
}
