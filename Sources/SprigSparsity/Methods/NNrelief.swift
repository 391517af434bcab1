import SprigLayers
import Foundation

/// NNrelief (Dekhovich, Tax, Sluiter, Bessa, "Neural network relief: a pruning algorithm
/// based on neural activity", Machine Learning 113, 2024; arXiv 2109.10795): prune by the
/// share of each connection in a neuron's total input activity over a pruning set.
///
/// For neuron j of a fully connected layer, with mean absolute inputs `a_i = mean_n |x_ni|`:
///
///     s_ij = |w_ij| a_i / (sum_k |w_kj| a_k + |b_j|),   s_bj = |b_j| / (same denominator)
///
/// For output channel j of a convolution, kernel c scores
/// `mean_n || |K_jc| * |x_nc| ||_F` (the convolution of absolute values), and the bias
/// `|b_j| sqrt(h w)` over the h x w output map, normalised the same way; whole kernels are
/// kept or removed. Each neuron keeps the smallest set of its connections (the bias among
/// them) whose scores, taken largest first, reach `alpha`; the rest are pruned.
public enum NNrelief {
    /// The connections a neuron keeps: given scores that sum to 1 with the bias's, the
    /// indices (into `scores`) of the smallest prefix, largest first (ties: connections by
    /// index, then the bias), whose sum reaches `alpha`, and whether the bias is in it.
    public static func keep(scores: [Double], biasScore: Double, alpha: Double) -> (kept: [Int], keepsBias: Bool) {
        let bias = scores.count // the bias, after every connection on ties
        var order = Array(0...bias)
        func score(_ i: Int) -> Double { i == bias ? biasScore : scores[i] }
        order.sort { score($0) > score($1) || (score($0) == score($1) && $0 < $1) }
        var total = 0.0
        var kept: [Int] = []
        var keepsBias = false
        for i in order {
            guard total < alpha else { break }
            total += score(i)
            if i == bias { keepsBias = true } else { kept.append(i) }
        }
        return (kept.sorted(), keepsBias)
    }

    /// Normalised scores of a fully connected neuron: `|w_i| a_(c_i)` over its active
    /// weights `w` (columns `columns`) and `|b|`, divided by their sum.
    public static func fcScores(weights: [Float], columns: [Int], inputMeans: [Double], bias: Float) -> (scores: [Double], bias: Double) {
        let raw = zip(weights, columns).map { Double(abs($0)) * inputMeans[$1] }
        let b = Double(abs(bias))
        let sum = raw.reduce(0, +) + b
        guard sum > 0 else { return (raw.map { _ in 0 }, 0) }
        return (raw.map { $0 / sum }, b / sum)
    }

    /// Normalised kernel scores of a convolution's output channel from the kernel
    /// activities `mean_n || |K_jc| * |x_nc| ||_F` and the bias term `|b| sqrt(positions)`.
    public static func convScores(kernelActivity: [Double], bias: Float, positions: Int) -> (scores: [Double], bias: Double) {
        let b = Double(abs(bias)) * Double(positions).squareRoot()
        let sum = kernelActivity.reduce(0, +) + b
        guard sum > 0 else { return (kernelActivity.map { _ in 0 }, 0) }
        return (kernelActivity.map { $0 / sum }, b / sum)
    }
}

/// NNrelief as a `sparsity.method`: `sprig train` trains every layer dense, and `sprig prune`
/// runs the pruning rounds (`NNreliefPruner`) between retrainings.
extension NNrelief: MethodDefinition {
    public static let name = "nnrelief"
    public static let summary = "every layer starts dense and is pruned by sprig prune between training rounds"

    public static func traits(_ options: MethodOptions) -> MethodTraits {
        var traits = MethodTraits()
        traits.sparsifiesLayers = false
        traits.startsDense = true
        traits.prunesEveryLayer = true
        return traits
    }

    public static func makePolicy(_ inputs: MethodInputs) -> MaskPolicy? { nil }
}
