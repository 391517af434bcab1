import Foundation
import MPI
import Testing
@testable import Sprig
@testable import SprigDistributed
@testable import SprigLayers
@testable import SprigSparsity
@testable import SprigTensor
@testable import SprigTraining

@Suite struct NNreliefTests {
    /// Neuron with weights (2, -1, 0.5) on inputs of mean |x| (1, 3, 2) and bias -1:
    /// activities |w| a = (2, 3, 1), |b| = 1, total 7; scores (2/7, 3/7, 1/7), bias 1/7.
    /// Largest first: input 1 (3/7), input 0 (5/7 in all), then input 2 and the bias tie at
    /// 1/7 (the connection first: 6/7), then the bias (7/7). alpha 0.7 keeps inputs 1 and
    /// 0; alpha 0.8 adds input 2; alpha 0.95 keeps everything, the bias too.
    @Test func fullyConnectedScoresAndThreshold() {
        let (scores, bias) = NNrelief.fcScores(weights: [2, -1, 0.5], columns: [0, 1, 2], inputMeans: [1, 3, 2], bias: -1)
        #expect(zip(scores, [2.0 / 7, 3.0 / 7, 1.0 / 7]).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(abs(bias - 1.0 / 7) < 1e-12)
        let strict = NNrelief.keep(scores: scores, biasScore: bias, alpha: 0.7)
        #expect(strict.kept == [0, 1] && !strict.keepsBias)
        let loose = NNrelief.keep(scores: scores, biasScore: bias, alpha: 0.95)
        #expect(loose.kept == [0, 1, 2] && loose.keepsBias)
        let most = NNrelief.keep(scores: scores, biasScore: bias, alpha: 0.8)
        #expect(most.kept == [0, 1, 2] && !most.keepsBias)
    }

    /// Convolution: kernel activities (4, 1, 3) and bias 0.5 over a 4 x 4 map (bias term
    /// 0.5 * 4 = 2), total 10; alpha 0.85 keeps kernels 0 and 2 and the bias (0.4 + 0.3 +
    /// 0.2 = 0.9) and prunes kernel 1.
    @Test func convolutionScoresAndThreshold() {
        let (scores, bias) = NNrelief.convScores(kernelActivity: [4, 1, 3], bias: -0.5, positions: 16)
        #expect(zip(scores, [0.4, 0.1, 0.3]).allSatisfy { abs($0 - $1) < 1e-12 } && abs(bias - 0.2) < 1e-12)
        let r = NNrelief.keep(scores: scores, biasScore: bias, alpha: 0.85)
        #expect(r.kept == [0, 2] && r.keepsBias)
    }

    /// A tiny network where the statistics are known: input features 0 and 1 carry mean
    /// |x| 1 and 0; hidden neuron 1 is dead (its ReLU never fires); hidden neuron 2 has no
    /// outgoing connection. One round removes neuron 1 and neuron 2 whole (weights and
    /// bias), keeps neuron 0's strong input, and leaves the output layer's kept weights.
    @Test func pruningRemovesDeadAndDisconnectedNeurons() {
        let hidden = SparseLinear(inputFeatures: 2, outputFeatures: 3, pattern: .dense(rows: 3, cols: 2))
        let output = SparseLinear(inputFeatures: 3, outputFeatures: 2, pattern: SparsePattern(rows: 2, cols: 3, activeIndices: [0, 1, 3, 4]))
        let model = Sequential(layers: [hidden, ReLU(features: 3), output])
        // hidden rows: neuron 0 = (1, 0.5) b 0.1; neuron 1 = (-1, 0) b -1 (dead); neuron 2 = (1, 1) b 0
        model.store.values.update(from: [1, 0.5, -1, 0, 1, 1] + [0.1, -1, 0] + [2, 0.5, -1, 0.5] + [0, 0], count: 15)
        let x = Matrix(rows: 2, cols: 2)
        x.data.update(from: [1, 1, 0, 0], count: 4) // feature 0 = 1 for both examples, feature 1 = 0
        let pruner = NNreliefPruner(model: model, alphaFC: 0.95)
        var stats = [Double](repeating: 0, count: pruner.statisticsCount)
        pruner.accumulate(x, into: &stats)
        #expect(Array(stats[0..<2]) == [2, 0]) // sum_n |x| per input of the hidden layer
        #expect(stats[3] == 0) // neuron 1's activity
        let diffs = pruner.decide(statistics: stats, examples: 2)
        for (layer, diff) in zip([hidden, output], diffs) { layer.apply(diff) }
        // neuron 0 keeps only input 0 (input 1 carries no activity): score 1/1.1 > 0.95? 1 / (1 + 0.1) = 0.909 < 0.95,
        // so the bias (0.091) is kept as well; neuron 1 is dead; neuron 2 feeds nothing.
        #expect(hidden.pattern.activeIndices == [0])
        #expect(hidden.frozenBiases == [1, 2])
        // The output layer (weights (2, 0.5) and (-1, 0.5) on hidden neurons 0 and 1, zero
        // biases) sees mean inputs (1.1, 0, 1): hidden neuron 0 is 1 * 1 + 0.5 * 0 + 0.1 = 1.1,
        // neuron 1 is relu(-1 - 1) = 0, neuron 2 is 1 (it has no outgoing weight). Output
        // neuron 0 scores 2 * 1.1 = 2.2 and 0.5 * 0 = 0 of 2.2: (1, 0), keeps its weight on
        // hidden 0 only; output neuron 1 likewise keeps -1 (on hidden 0). Flat indices
        // row * 3 + col: 0 and 3 stay, 1 and 4 go.
        #expect(output.pattern.activeIndices == [0, 3])
        #expect(Array(output.activeWeights) == [2, -1])
        #expect(pruner.removedNeurons == [2, 0])
        #expect(hidden.biasValues[1] == 0 && hidden.biasValues[2] == 0)
    }

    /// NNrelief's convolution statistic `sum_n || |K_jc| * |x_nc| ||_F` on a 2-channel 3 x 3
    /// input, 2 output channels, 2 x 2 kernels (2 x 2 output maps), two examples, by hand.
    ///
    ///     example 0: channel 0 (1 -2 0 / 0 1 3 / 2 0 -1), channel 1 (-1 0 1 / 2 0 0 / 0 1 1)
    ///     example 1: channel 0 (0 1 0 / -1 0 2 / 0 0 1), channel 1 (1 1 -1 / 0 -2 0 / 1 0 0)
    ///     K_00 = (1 -1 / 0 2), K_01 masked whole, K_10 = (0 1 / -1 0), K_11 = (2 0 / 0 -1)
    ///
    /// |K_00| * |x_0,0| = (5 8 / 1 6): norm^2 126; on example 1 (1 5 / 1 4): 43.
    /// |K_10| * |x_0,0| = (2 1 / 3 3): 23; example 1 (2 0 / 0 2): 8.
    /// |K_11| * |x_0,1| = (2 0 / 5 1): 30; example 1 (4 2 / 0 4): 36.
    /// With biases (0.5, -1) the outputs are, channel 0: (5.5 4.5 / -0.5 -3.5) and
    /// (-0.5 5.5 / -0.5 0.5), ReLU sums 16; channel 1: (-5 -2 / 1 1) and (5 1 / -1 -3): 8.
    @Test func convolutionStatisticsByHand() {
        let conv = Conv2D(inputChannels: 2, inputHeight: 3, inputWidth: 3, outputChannels: 2, kernel: 2,
                          pattern: SparsePattern(rows: 2, cols: 8, activeIndices: [0, 1, 3, 9, 10, 12, 15]))
        let head = SparseLinear(inputFeatures: 8, outputFeatures: 2, pattern: .dense(rows: 2, cols: 8))
        let model = Sequential(layers: [conv, ReLU(features: 8), head])
        // kernel entries in CSR order (zeros of K are inactive), then the conv biases
        model.store.values.update(from: [1, -1, 2, 1, -1, 2, -1] + [0.5, -1], count: 9)
        let examples: [[Float]] = [[1, -2, 0, 0, 1, 3, 2, 0, -1, -1, 0, 1, 2, 0, 0, 0, 1, 1],
                                   [0, 1, 0, -1, 0, 2, 0, 0, 1, 1, 1, -1, 0, -2, 0, 1, 0, 0]]
        let x = Matrix(rows: 18, cols: 2)
        for f in 0..<18 { for n in 0..<2 { x[f, n] = examples[n][f] } }
        let pruner = NNreliefPruner(model: model, alphaFC: 0.95, alphaConv: 0.9)
        #expect(pruner.statisticsCount == 4 + 2 + 8 + 2)
        var stats = [Double](repeating: 0, count: pruner.statisticsCount)
        pruner.accumulate(x, into: &stats)
        let kernels: [Double] = [sqrt(126) + sqrt(43), 0, sqrt(23) + sqrt(8), sqrt(30) + 6]
        #expect(zip(stats[0..<4], kernels).allSatisfy { abs($0 - $1) < 1e-9 }, "\(stats[0..<4]) vs \(kernels)")
        #expect(Array(stats[4..<6]) == [16, 8])
        // the same batch again doubles every statistic
        pruner.accumulate(x, into: &stats)
        #expect(zip(stats[0..<4], kernels).allSatisfy { abs($0 - 2 * $1) < 1e-9 } && Array(stats[4..<6]) == [32, 16])
    }
}
