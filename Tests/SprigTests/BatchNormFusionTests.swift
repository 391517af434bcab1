import Testing
@testable import SprigLayers
@testable import SprigTensor

@Suite struct BatchNormFusionTests {
    /// A ReLU after a batch norm in a chain is fused into it, and the pair gives the unfused
    /// pair's bits: outputs in training and evaluation, the input gradient and the parameter
    /// gradients; with micro-batches of 10 (scalar tails) and 16 (whole lanes), and gammas
    /// and betas of both signs so that the ReLU cuts.
    @Test func reluFusedIntoBatchNormGivesTheUnfusedBits() {
        for (batch, microbatch) in [(20, 10), (32, 16)] {
            let fusedNorm = BatchNorm(channels: 3, positions: 5), fusedReLU = ReLU(features: 15)
            let fused = Sequential(layers: [fusedNorm, fusedReLU])
            let norm = BatchNorm(channels: 3, positions: 5), relu = ReLU(features: 15)
            let alone = Sequential(layers: [norm])
            #expect(fusedNorm.appliesReLU && fusedReLU.isFused && !norm.appliesReLU && !relu.isFused)
            for model in [fused, alone] {
                let parameters: [Float] = [1.5, -0.5, 0.75, 0.25, 0.5, -1]
                for (i, v) in parameters.enumerated() { model.store.values[i] = v }
                model.setTraining(true, microbatchSize: microbatch)
            }
            let x = randomMatrix(15, batch, seed: 7), dy = randomMatrix(15, batch, seed: 8)
            let yFused = fused.forward(x).values
            let yAlone = relu.forward(alone.forward(x)).values
            #expect(yFused.map(\.bitPattern) == yAlone.map(\.bitPattern), "training outputs differ (micro-batch \(microbatch))")
            #expect(yFused.contains(0) && yFused.contains { $0 > 0 }, "the ReLU cuts some values and keeps others")
            let gradFused = UnsafeMutablePointer<Float>.allocate(capacity: 6), gradAlone = UnsafeMutablePointer<Float>.allocate(capacity: 6)
            defer { gradFused.deallocate(); gradAlone.deallocate() }
            gradFused.initialize(repeating: .nan, count: 6)
            gradAlone.initialize(repeating: .nan, count: 6)
            let dyCopy = Matrix(rows: 15, cols: batch)
            dyCopy.data.update(from: dy.data, count: dy.count)
            let g = fusedReLU.backward(dy, into: GradientBuffers(gradients: gradFused), needInputGradient: true)!
            let dxFused = fusedNorm.backward(g, into: GradientBuffers(gradients: gradFused), needInputGradient: true)!.values
            let h = relu.backward(dyCopy, into: GradientBuffers(gradients: gradAlone), needInputGradient: true)!
            let dxAlone = norm.backward(h, into: GradientBuffers(gradients: gradAlone), needInputGradient: true)!.values
            #expect(dxFused.map(\.bitPattern) == dxAlone.map(\.bitPattern), "input gradients differ (micro-batch \(microbatch))")
            #expect((0..<6).map { gradFused[$0].bitPattern } == (0..<6).map { gradAlone[$0].bitPattern },
                    "parameter gradients differ (micro-batch \(microbatch))")
            for model in [fused, alone] { model.setTraining(false) }
            let evalFused = fused.forward(x).values, evalAlone = relu.forward(alone.forward(x)).values
            #expect(evalFused.map(\.bitPattern) == evalAlone.map(\.bitPattern), "evaluation outputs differ")
        }
    }
}
