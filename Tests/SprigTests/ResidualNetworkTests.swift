import Foundation
import Testing
@testable import SprigDistributed
@testable import SprigLayers
@testable import SprigModels
@testable import SprigSparsity
@testable import SprigTensor
@testable import SprigTraining

/// Batch norm, residual blocks, global average pooling and the conv nets built from them.
@Suite struct ResidualNetworkTests {
    /// A small graph with every new piece: a convolution without bias, batch norm, a basic
    /// block with a projection shortcut of stride 2, a pre-activation block, pooling to a
    /// linear layer with batch norm over its features.
    static let tiny = ModelArchitecture.graph(input: [2, 6, 6], layers: [
        .conv(name: "conv1", channels: 4, kernel: 3, padding: 1, bias: false), .batchNorm(name: "bn1"), .relu,
        .residual(name: "layer1.0", body: [
            .conv(name: "conv1", channels: 6, kernel: 3, stride: 2, padding: 1, bias: false), .batchNorm(name: "bn1"), .relu,
            .conv(name: "conv2", channels: 6, kernel: 3, padding: 1, bias: false), .batchNorm(name: "bn2"),
        ], shortcut: [.conv(name: "shortcut.0", channels: 6, kernel: 1, stride: 2, bias: false), .batchNorm(name: "shortcut.1")],
        after: [.relu]),
        .residual(name: "block", before: [.batchNorm(name: "bn1"), .relu], body: [
            .conv(name: "conv1", channels: 6, kernel: 3, padding: 1), .batchNorm(name: "bn2"), .relu,
            .conv(name: "conv2", channels: 6, kernel: 3, padding: 1),
        ], shortcut: nil, after: []),
        .globalAveragePool, .linear(name: "hidden", outputs: 5), .batchNorm(name: "bn_fc"), .relu, .linear(name: "fc", outputs: 3),
    ])

    /// Linear layers only, with batch norm over features, a residual block and dropout: every
    /// layer runs micro-batches side by side (convolutions take one pass per micro-batch).
    static let flat = ModelArchitecture.graph(input: [12], layers: [
        .linear(name: "fc1", outputs: 10), .batchNorm(name: "bn1"), .relu, .dropout(rate: 0.25),
        .residual(name: "block", body: [.linear(name: "fc1", outputs: 10), .batchNorm(name: "bn1"), .relu,
                                        .linear(name: "fc2", outputs: 10, bias: false), .batchNorm(name: "bn2")],
                  shortcut: nil, after: [.relu]),
        .linear(name: "fc", outputs: 3),
    ])

    /// Parameters carry PyTorch's module names, and the walk names the weight layers alike.
    @Test func parametersCarryTheModuleNames() {
        let model = Self.tiny.makeModel()
        let names = model.store.specs.map(\.name)
        #expect(names.prefix(3) == ["conv1.weight", "bn1.weight", "bn1.bias"])
        #expect(names.contains("layer1.0.shortcut.0.weight") && names.contains("layer1.0.shortcut.1.bias"))
        #expect(names.contains("block.conv1.bias") && !names.contains("layer1.0.conv1.bias"))
        #expect(names.suffix(2) == ["fc.weight", "fc.bias"])
        #expect(Self.tiny.weightShapes.map(\.name) == ["conv1", "layer1.0.conv1", "layer1.0.conv2", "layer1.0.shortcut.0",
                                                       "block.conv1", "block.conv2", "hidden", "fc"])
        #expect(model.batchNormNames == ["bn1", "layer1.0.bn1", "layer1.0.bn2", "layer1.0.shortcut.1", "block.bn1", "block.bn2", "bn_fc"])
    }

    /// The zoo's conv nets have their papers' sizes: resnet-20 about 0.27M parameters (option
    /// B shortcuts), wrn-22-2 about 1.08M, vgg-16 about 14.7M, lenet-5-caffe 431,080 on MNIST.
    @Test func zooConvNetsHaveTheirPapersSizes() {
        func parameters(_ name: String, input: [Int] = [3, 32, 32]) -> Int {
            ModelArchitecture.zoo[name]!.adapted(toInput: input, classes: 10).makeModel().store.count
        }
        #expect(parameters("resnet-20") == 272_474)
        #expect(parameters("resnet-32") == 466_906)
        #expect(parameters("resnet-56") == 855_770)
        #expect(parameters("wrn-22-2") == 1_079_642)
        #expect(parameters("vgg-16") == 14_728_266)
        #expect(parameters("lenet-5-caffe", input: [1, 28, 28]) == 431_080)
        #expect(ModelArchitecture.zoo["resnet-20"]!.adapted(toInput: [1, 28, 28], classes: 10).shapeProblem(input: [1, 28, 28]) == nil)
        #expect(ModelArchitecture.zoo["vgg-16"]!.adapted(toInput: [1, 28, 28], classes: 10).shapeProblem(input: [1, 28, 28])
                == "a 2x2 pooling gets 512x1x1 inputs")
    }

    /// Back-propagation through batch norm (training mode, two micro-batches), both kinds of
    /// block and pooling matches central differences of `L = sum_i c_i logits_i`, with and
    /// without the ReLUs (whose kinks blur differences).
    @Test(arguments: [true, false]) func gradientsMatchFiniteDifferences(relu: Bool) {
        func strip(_ nodes: [LayerNode]) -> [LayerNode] {
            nodes.compactMap { node in
                switch node {
                case .relu: return relu ? node : nil
                case .residual(let n, let b, let body, let sc, let a): return .residual(name: n, before: strip(b), body: strip(body), shortcut: sc.map(strip), after: strip(a))
                default: return node
                }
            }
        }
        guard case .graph(let inp, let nodes) = Self.tiny else { return }
        let model = ModelArchitecture.graph(input: inp, layers: strip(nodes)).makeModel()
        model.initialize(.heNormal, seed: 3)
        // Scale and shift away from 1 and 0, so that their gradients are exercised.
        for (i, spec) in model.store.specs.enumerated() where spec.name.contains("bn") || spec.name.contains("shortcut.1") {
            for k in 0..<spec.count { model.store.values[model.store.offsets[i] + k] = 0.5 + 0.1 * Float(k % 5) }
        }
        let x = randomMatrix(72, 8, seed: 1)
        let c = randomMatrix(3, 8, seed: 2)
        model.setTraining(true, microbatchSize: 4)
        func loss() -> Double {
            let y = model.forward(x)
            return (0..<y.count).reduce(0.0) { $0 + Double(y.data[$1]) * Double(c.data[$1]) }
        }
        _ = loss()
        let analytic = model.backwardGradients(c)
        let values = model.store.values
        var errors: [Double] = []
        for index in stride(from: 0, to: model.store.count, by: 7) {
            let saved = values[index]
            let h: Float = 2e-3
            values[index] = saved + h
            let up = loss()
            values[index] = saved - h
            let down = loss()
            values[index] = saved
            let numeric = (up - down) / Double(2 * h)
            let error = abs(numeric - Double(analytic[index])) / max(1, abs(numeric))
            errors.append(error)
            #expect(error <= 5e-2,
                    "\(index) \(model.store.specs[model.store.offsets.lastIndex { $0 <= index }!].name): numeric \(numeric), back-propagated \(analytic[index])")
        }
        // Float32 rounding (small h) and curvature (large h) bound single checks; a wrong
        // term would move most of them.
        #expect(errors.count > 50 && errors.sorted()[errors.count / 2] < 5e-3, "median error \(errors.sorted()[errors.count / 2])")
    }

    /// Evaluation normalises with the running statistics, which a step moves by momentum 0.1
    /// towards the mean over the micro-batches of their means and unbiased variances.
    @Test func runningStatisticsFollowPyTorch() {
        let bn = BatchNorm(channels: 2, positions: 3)
        let model = Sequential(layers: [bn])
        model.initialize(.heNormal, seed: 0)
        let x = Matrix(rows: 6, cols: 4)
        for i in 0..<x.count { x.data[i] = Float(i % 7) - Float(i / 12) }
        model.setTraining(true, microbatchSize: 2)
        _ = model.forward(x)
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: 4)
        defer { buffer.deallocate() }
        model.writeStatistics(into: buffer)
        // channel 0, micro-batch 0: rows 0-2, columns 0-1
        var means: [[Double]] = [[], []], variances: [[Double]] = [[], []]
        for c in 0..<2 {
            for s in 0..<2 {
                let v = (0..<3).flatMap { p in (0..<2).map { n in Double(x[c * 3 + p, s * 2 + n]) } }
                let mean = v.reduce(0, +) / 6
                means[c].append(mean)
                variances[c].append(v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 5)
            }
        }
        for c in 0..<2 {
            #expect(abs(Double(buffer[c]) - (means[c][0] + means[c][1])) < 1e-5)
            #expect(abs(Double(buffer[2 + c]) - (variances[c][0] + variances[c][1])) < 1e-4)
        }
        model.applyStatistics(buffer, microbatches: 2)
        #expect(abs(Double(bn.runningMean[1]) - 0.1 * (means[1][0] + means[1][1]) / 2) < 1e-6)
        #expect(abs(Double(bn.runningVariance[0]) - (0.9 + 0.1 * (variances[0][0] + variances[0][1]) / 2)) < 1e-5)
        #expect(bn.batchesTracked == 1)
        model.setTraining(false)
        let y = model.forward(x)
        let expected = (Double(x[4, 1]) - Double(bn.runningMean[1])) / (Double(bn.runningVariance[1]) + 1e-5).squareRoot()
        #expect(abs(Double(y[4, 1]) - expected) < 1e-5)
    }

    /// A step over micro-batches side by side gives the bits of one pass per micro-batch:
    /// parameters, optimizer state and running statistics, with batch norm, a block and
    /// dropout (`flat`, which runs side by side); and `tiny`'s convolutions, one pass per
    /// micro-batch, give the same bits on a second run.
    @Test(arguments: ["flat", "tiny"]) func sideBySideStepsGiveTheSameBits(model name: String) {
        let architecture = name == "flat" ? Self.flat : Self.tiny
        let features = architecture.inputFeatures
        func train(sideBySide: Bool) -> (values: [Float], running: [Float], sideBySide: Bool) {
            let model = architecture.makeModel()
            model.initialize(.heNormal, seed: 4)
            let optimizer = SGD(store: model.store, settings: SGD.Settings(momentum: 0.9, nesterov: true, weightDecay: 1e-4))
            let step = TrainingStep(model: model, optimizer: optimizer, replicas: .single(), globalBatch: 32, microbatches: 4)
            step.batchesMicrobatches = sideBySide
            for t in 0..<3 {
                let parts = (0..<4).map { randomMatrix(features, 8, seed: UInt64(10 * t + $0)) }
                let labels = (0..<4).map { k in (0..<8).map { Int32(($0 + k + t) % 3) } }
                step(inputs: parts, labels: labels, learningRate: 0.05, step: t)
            }
            return (Array(UnsafeBufferPointer(start: model.store.values, count: model.store.count)),
                    model.batchNorms.flatMap { $0.runningMean + $0.runningVariance }, step.runsSideBySide(atStep: 0))
        }
        let (a, b) = (train(sideBySide: true), train(sideBySide: false))
        #expect(a.sideBySide == (name == "flat") && !b.sideBySide)
        #expect(a.values.map(\.bitPattern) == b.values.map(\.bitPattern))
        #expect(a.running.map(\.bitPattern) == b.running.map(\.bitPattern))
        #expect(a.running.contains { $0 != 0 && $0 != 1 }, "the running statistics moved")
    }

    /// Dropout's masks are a function of (seed, step, layer, position in the global batch,
    /// feature): the same columns drop the same values wherever they sit; kept values are
    /// scaled by 1 / (1 - p), backward applies the same mask, and evaluation is the identity.
    @Test func dropoutMasksAreStateless() {
        let whole = Dropout(features: 50, rate: 0.3), half = Dropout(features: 50, rate: 0.3)
        for d in [whole, half] {
            d.initialize(.heNormal, seed: 7, layerIndex: 3)
            d.isTraining = true
            d.step = 11
        }
        let x = randomMatrix(50, 8, seed: 5)
        let y = whole.forward(x)
        let yValues = y.values
        let right = Matrix(rows: 50, cols: 4)
        for f in 0..<50 { for n in 0..<4 { right[f, n] = x[f, 4 + n] } }
        half.firstExample = 4
        let yRight = half.forward(right)
        var dropped = 0
        for f in 0..<50 {
            for n in 0..<8 {
                let v = y[f, n]
                #expect(v == 0 || v == x[f, n] * (1 / (1 - Float(0.3))))
                if v == 0 { dropped += 1 }
                if n >= 4 { #expect(yRight[f, n - 4].bitPattern == v.bitPattern) }
            }
        }
        #expect(dropped > 80 && dropped < 160, "\(dropped) of 400 dropped at rate 0.3")
        let none = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        defer { none.deallocate() }
        let dx = whole.backward(Matrix(viewing: x, rows: 50, cols: 8), into: GradientBuffers(gradients: none), needInputGradient: true)!
        #expect(dx.values.map(\.bitPattern) == y.values.map(\.bitPattern), "dy = x gives dx = y")
        whole.step = 12
        #expect(whole.forward(x).values != yValues, "another step, other masks")
        whole.isTraining = false
        #expect(whole.forward(x) === x)
    }

    /// The PyTorch description of a graph model lists its operations with the blocks nested.
    @Test func pytorchLayoutNestsTheBlocks() {
        let json = Self.tiny.pytorchLayers
        #expect(json.hasPrefix(#"[{"op": "conv2d", "name": "conv1", "in_channels": 2, "out_channels": 4, "kernel_size": 3, "stride": 1, "padding": 1, "bias": false}, {"op": "batch_norm2d", "name": "bn1", "num_features": 4}"#))
        #expect(json.contains(#""shortcut": [{"op": "conv2d", "name": "shortcut.0", "in_channels": 4, "out_channels": 6, "kernel_size": 1, "stride": 2"#))
        #expect(json.contains(#""shortcut": null"#))
        #expect(json.contains(#"{"op": "global_avg_pool2d"}, {"op": "linear", "name": "hidden", "in_features": 6"#))
        #expect(json.contains(#"{"op": "batch_norm1d", "name": "bn_fc", "num_features": 5}"#))
    }
}

/// Models written in the config as lists of layers and blocks.
@Suite struct LayerListConfigTests {
    static var root: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    /// `configs/models/resnet-20.yaml` spells out the zoo's resnet-20: the same architecture,
    /// and its effective config (what a checkpoint keeps) reads back to it.
    @Test func layerListSpellsOutTheZoo() throws {
        let c = try TrainingConfig.load(path: Self.root + "/configs/models/resnet-20.yaml")
        guard case .graph(_, let layers) = c.model, case .graph(_, let zoo) = ModelArchitecture.zoo["resnet-20"]! else {
            Issue.record("not a graph model")
            return
        }
        #expect(layers == zoo)
        #expect(c.model.adapted(toInput: [3, 32, 32], classes: 10).weightShapes == ModelArchitecture.zoo["resnet-20"]!.weightShapes)
        let back = try TrainingConfig.parse(text: c.yaml, source: "effective")
        #expect(back.model == c.model && back.modelName == "resnet-20-layers")
    }

    /// A layer list's mistakes are one line naming the field.
    @Test func layerListMistakesNameTheField() {
        func message(_ layers: String) -> String? {
            sprigError { _ = try TrainingConfig.parse(text: "model:\n  layers: \(layers)\n", source: "c.yaml") }?.description
        }
        #expect(message("[relu, {pool: 2}]") == "c.yaml: model.layers[1]: unknown layer 'pool' (known: conv, batch_norm, relu, max_pool, dropout, global_avg_pool, linear, residual)")
        #expect(message("[{conv: {channels: 0, kernel: 3}}]") == "c.yaml: model.layers[0].conv.channels: must be at least 1, got 0")
        #expect(message("[{conv: {channels: 4}}]") == "c.yaml: model.layers[0].conv.kernel: missing")
        #expect(message("[{conv: {channels: 4, kernel: 3, pad: 1}}]") == "c.yaml: unknown key 'model.layers[0].conv.pad'")
        #expect(message("[{batch_norm: a}, {batch_norm: a}]") == "c.yaml: model.layers[1]: the name 'a' is used twice")
        #expect(message("[{linear: {name: 'fc-1', outputs: 3}}]") == "c.yaml: model.layers[0].linear: 'fc-1' is not a module name (letters, digits and _, dot-separated)")
        #expect(message("[{residual: {name: b, body: [{batch_norm: x}, relu]}}]") == "c.yaml: model.layers[0].residual.body: may not start or end with relu (put it in before or after)")
        #expect(message("[{residual: {name: b}}]") == "c.yaml: model.layers[0].residual.body: a block needs a body (a list of layers)")
        #expect(message("[{linear: {outputs: 3}, relu: 1}]") == "c.yaml: model.layers[0]: a layer is a word (relu, global_avg_pool) or a mapping of one kind to its settings ({conv: {...}})")
        #expect(sprigError { _ = try TrainingConfig.parse(text: "model: {name: resnet-20, layers: [relu]}\n", source: "c.yaml") }?.description
                == "c.yaml: model.name: 'resnet-20' is a zoo model's name; give yours another")
        #expect(message("[{linear: {outputs: 8}}, {dropout: 1.5}, {linear: {outputs: 2}}]") == "c.yaml: model.layers[1].dropout: must be in [0, 1), got 1.5")
        // A list with every kind of layer reads back from the effective config.
        let text = "model: {name: all, layers: [{conv: {channels: 4, kernel: 3, stride: 2, padding: 1, bias: false}}, batch_norm, relu, "
            + "{max_pool: 2}, {dropout: 0.25}, {residual: {name: b, before: [batch_norm], body: [{conv: {channels: 4, kernel: 1}}], "
            + "shortcut: [{conv: {name: s, channels: 4, kernel: 1}}], after: [relu]}}, global_avg_pool, {linear: {outputs: 10}}]}\n"
        let c = try? TrainingConfig.parse(text: text, source: "c.yaml")
        #expect(c != nil && (try? TrainingConfig.parse(text: c!.yaml, source: "effective"))?.model == c!.model)
    }
}
