import Foundation
import MPI
import Testing
@testable import Sprig

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
        #expect(output.pattern.activeIndices.allSatisfy { $0 % 3 == 0 || $0 % 3 == 1 })
        #expect(pruner.removedNeurons == [2, 0])
        #expect(hidden.biasValues[1] == 0 && hidden.biasValues[2] == 0)
    }
}
