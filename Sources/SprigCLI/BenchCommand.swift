import ArgumentParser
import Foundation
import Sprig

/// `sprig bench`: training throughput over sparsities beside the machine's sgemm rate.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure training samples/s (one rank) across sparsities, beside sgemm GFLOP/s. Build with -c release.",
        discussion: """
            Synthetic batches (the conv nets on their CIFAR input, 3 x 32 x 32); data loading and evaluation are left
            out. The weight layers get the row's sparsity as --distribution spreads it (uniform: every layer the same;
            erk: Erdos-Renyi-Kernel, dense-ish small layers); with --method rigl a mask update every 100 steps, with its
            dense gradients by the path training takes (factors on MLPs), is timed apart and amortised over its period.
            A second table says where the step's time goes. model_bytes is what the model holds between mask updates.
            --inference times the forward pass alone; --condensed times SRigL's condensed layout against the CSR kernel;
            --conv-crossover times convolutions on the sparse kernels against
            the masked dense product. Compare ratios within one run: the machine is shared.
            """
    )

    @Option(name: .long, help: "Comma-separated models from the zoo.")
    var models: String = "lenet-300-100,mlp-wide"

    @Option(name: .long, help: "Comma-separated sparsities.")
    var sparsities: String = "0,0.5,0.8,0.9,0.95,0.98,0.99"

    @Option(name: .long, help: "How a row's sparsity is spread over the layers: uniform, er or erk.")
    var distribution: String = "uniform"

    @Option(name: .long, help: "Sparse method trained from sparse (`sprig train --help` lists them); its masks change every 100 steps.")
    var method: String = SparseTrainingMethod.benchmarkDefault.name

    @Option(name: .long, help: "Batch size.")
    var batch: Int = 128

    @Option(name: .long, help: "Micro-batches per batch (the training default is 4).")
    var microbatches: Int = 4

    @Option(name: .long, help: "Also measure each row with this many micro-batches, in turn with the row block by block (a ratio that holds on a shared machine).")
    var versusMicrobatches: Int?

    @Option(name: .long, help: "Seconds of timed training per row (at least 100 steps).")
    var seconds: Double = 2

    @Option(name: .long, help: "BLAS threads.")
    var threads: Int = 1

    @Flag(name: .long, help: "Print one JSON object per row instead of tables.")
    var json = false

    @Flag(name: .long, help: "Instead: the forward pass alone (evaluation mode) at batch 1 and at --batch, each sparsity beside dense, in turn.")
    var inference = false

    @Flag(name: .long, help: "Instead: the forward pass of each fully connected layer of the models with SRigL's constant fan-in, on the CSR kernel and on the condensed layout, at batch 1 and at --batch.")
    var condensed = false

    @Flag(name: .long, help: "Instead: time each distinct convolution of the models on the sparse kernels and on the masked dense product, at densities 0.05 to 0.7 (the crossover behind conv_dense_math_density).")
    var convCrossover = false

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
        guard microbatches >= 1, batch % microbatches == 0 else { throw ValidationError("--microbatches must divide --batch") }
        if let v = versusMicrobatches, v < 1 || batch % v != 0 { throw ValidationError("--versus-microbatches must divide --batch") }
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard SparsityDistribution(rawValue: distribution) != nil else {
            throw ValidationError("--distribution must be uniform, er or erk")
        }
        guard let chosen = SparseTrainingMethod(name: method), chosen.traits(chosen.defaultOptions).sparsifiesLayers,
              !chosen.traits(chosen.defaultOptions).startsDense else {
            let known = SparseTrainingMethod.all.filter { $0.traits($0.defaultOptions).sparsifiesLayers && !$0.traits($0.defaultOptions).startsDense }
            throw ValidationError("--method must be one of \(known.map(\.name).joined(separator: ", ")) (methods that train from sparse)")
        }
        for name in models.split(separator: ",") where ModelArchitecture.zoo[String(name)] == nil {
            throw ValidationError("--models: unknown model '\(name)' (known: \(ModelArchitecture.zoo.keys.sorted().joined(separator: ", ")))")
        }
        for s in sparsities.split(separator: ",") {
            guard let v = Double(s), v >= 0, v < 1 else { throw ValidationError("--sparsities: '\(s)' is not in [0, 1)") }
        }
    }

    func run() throws {
        BLAS.setThreads(threads)
        if convCrossover { return crossover() }
        if inference { return inferenceRows() }
        if condensed { return condensedRows() }
        let levels = sparsities.split(separator: ",").map { Double($0)! }
        let sgemm = GEMMThroughput.measure(m: 1024, n: 1024, k: 1024)
        emit(["kernel": .string("sgemm"), "shape": .string("1024x1024x1024"), "gflops": .number(sgemm), "threads": .int(threads)],
             text: String(format: "sgemm 1024x1024x1024: %.1f GFLOP/s (%d BLAS thread%@)", sgemm, threads, threads == 1 ? "" : "s"))
        // Sprig's own dense product (one thread), at that size and at LeNet-300-100's fc1
        // forward product on a batch of 128, beside sgemm on the same.
        let own = GEMMThroughput.measure(m: 1024, n: 1024, k: 1024, kernel: .denseKernels)
        let fc1 = (sgemm: GEMMThroughput.measure(m: 300, n: 128, k: 784, seconds: 0.3),
                   own: GEMMThroughput.measure(m: 300, n: 128, k: 784, seconds: 0.3, kernel: .denseKernels))
        emit(["kernel": .string("dense_kernels"), "shape": .string("1024x1024x1024"), "gflops": .number(own),
              "fc1_gflops": .number(fc1.own), "fc1_sgemm_gflops": .number(fc1.sgemm)],
             text: String(format: "DenseKernels 1024x1024x1024: %.1f GFLOP/s; 300x128x784 (fc1, batch 128): %.1f, sgemm %.1f",
                          own, fc1.own, fc1.sgemm))
        if !json {
            print("\nmodel           sparsity  samples/s  vs dense  GFLOP/s  model_bytes  vs dense  rss_MiB")
        }
        var profiles: [(String, Double, [StepProfile.Part: Double])] = []
        for name in models.split(separator: ",").map(String.init) {
            let arch = ModelArchitecture.zoo[name]!
            var dense: TrainingThroughput.Result?
            for s in levels {
                let row = TrainingThroughput(model: arch, sparsity: s, distribution: SparsityDistribution(rawValue: distribution)!,
                                             method: SparseTrainingMethod(name: method)!, batch: batch,
                                             microbatches: microbatches, seconds: seconds)
                var versus = row
                versus.microbatches = versusMicrobatches ?? microbatches
                let results = TrainingThroughput.interleaved(versusMicrobatches == nil ? [row] : [row, versus], seconds: seconds)
                let r = results[0]
                if s == 0 { dense = r }
                let gflops = r.samplesPerSecond * Double(r.flopsPerExample) / 1e9
                let speedup = dense.map { r.samplesPerSecond / $0.samplesPerSecond }
                let memory = dense.map { Double(r.modelBytes) / Double($0.modelBytes) }
                let rss = ResourceUsage.residentBytes ?? 0
                emit(["model": .string(name), "sparsity": .number(s), "method": .string(s == 0 ? SparseTrainingMethod.dense.name : method),
                      "distribution": .string(distribution),
                      "batch": .int(batch), "microbatches": .int(microbatches), "samples_per_second": .number(r.samplesPerSecond),
                      "speedup_vs_dense": speedup.map(JSONValue.number) ?? .null, "gflops": .number(gflops),
                      "model_bytes": .int(r.modelBytes), "model_bytes_vs_dense": memory.map(JSONValue.number) ?? .null,
                      "rss_bytes": .int(rss), "peak_rss_bytes": .int(ResourceUsage.peakResidentBytes ?? 0),
                      "versus_microbatches": versusMicrobatches.map(JSONValue.int) ?? .null,
                      "versus_samples_per_second": results.count > 1 ? .number(results[1].samplesPerSecond) : .null,
                      "time_shares": .object(StepProfile.Part.allCases.map { ($0.name, r.shares[$0] ?? 0) }
                                             + [("other", 1 - r.shares.values.reduce(0, +))])],
                     text: name.padding(toLength: 15, withPad: " ", startingAt: 0)
                        + String(format: " %8.2f  %9.0f  %7@  %7.1f  %11d  %8@  %7.1f", s, r.samplesPerSecond,
                                 (speedup.map { String(format: "%.2fx", $0) } ?? "-") as NSString, gflops, r.modelBytes,
                                 (memory.map { String(format: "%.3f", $0) } ?? "-") as NSString, Double(rss) / 1_048_576)
                        + (results.count > 1 ? String(format: "  (in turn with --microbatches %d: %.0f, ratio %.3f)", versusMicrobatches!,
                                                      results[1].samplesPerSecond, r.samplesPerSecond / results[1].samplesPerSecond) : ""))
                profiles.append((name, s, r.shares))
            }
        }
        if !json {
            print("\nwhere the step's time goes (%): convolutions forward, input gradient, weight gradient, both unsplit (masked")
            print("dense products); batch norm; ReLU, pooling, dropout and residual additions; mask updates (amortised); the rest")
            print("model           sparsity  conv_fwd  conv_dX  conv_dW  conv_both  batch_norm  elementwise  masks  other")
            for (name, s, shares) in profiles {
                let p = StepProfile.Part.allCases.map { 100 * (shares[$0] ?? 0) }
                print(name.padding(toLength: 15, withPad: " ", startingAt: 0)
                      + String(format: " %8.2f  %8.1f  %7.1f  %7.1f  %9.1f  %10.1f  %11.1f  %5.1f  %5.1f", s, p[0], p[1], p[2], p[3], p[4],
                               p[5], p[6], 100 - p.reduce(0, +)))
            }
        }
        let mlps = models.split(separator: ",").map(String.init).filter { if case .mlp = ModelArchitecture.zoo[$0]! { return true } else { return false } }
        if !json && !mlps.isEmpty {
            print("\nsparse kernels, first layer, batch \(batch / microbatches) (useful GFLOP/s: 2 per active weight per example)")
            print("model           sparsity  forward  input_grad  weight_grad")
        }
        for name in mlps {
            let shape = ModelArchitecture.zoo[name]!.weightShapes[0].shape
            for s in levels where s > 0 {
                let k = KernelThroughput.measure(rows: shape[0], cols: shape[1], sparsity: s, batch: batch / microbatches)
                emit(["kernel": .string("sparse"), "model": .string(name), "layer": .string("fc1"), "sparsity": .number(s),
                      "batch": .int(batch / microbatches), "forward_gflops": .number(k.forward),
                      "input_gradient_gflops": .number(k.inputGradient), "weight_gradient_gflops": .number(k.weightGradient)],
                     text: name.padding(toLength: 15, withPad: " ", startingAt: 0)
                        + String(format: " %8.2f  %7.1f  %10.1f  %11.1f", s, k.forward, k.inputGradient, k.weightGradient))
            }
        }
        if !json, let peak = ResourceUsage.peakResidentBytes {
            print(String(format: "\npeak resident memory of the process: %.1f MiB", Double(peak) / 1_048_576))
        }
    }

    /// `--inference`: forward passes per second at batch 1 and at `batch`, each sparsity measured
    /// in turn with the dense model.
    private func inferenceRows() {
        let levels = sparsities.split(separator: ",").map { Double($0)! }
        let spread = SparsityDistribution(rawValue: distribution)!
        if !json {
            print("forward pass alone (evaluation mode), one thread; each row measured in turn with the dense model")
            print("model           sparsity  batch  samples/s  dense samples/s  vs dense")
        }
        // Every row is measured beside the dense model, so sparsity 0 gets a row of its own
        // only when nothing else was asked for.
        let rows = levels.contains { $0 > 0 } ? levels.filter { $0 > 0 } : [0]
        for name in models.split(separator: ",").map(String.init) {
            let arch = ModelArchitecture.zoo[name]!
            for b in [1, batch] {
                for s in rows {
                    let rates = InferenceThroughput.interleaved([.init(model: arch, sparsity: s, distribution: spread, batch: b),
                                                                 .init(model: arch, sparsity: 0, distribution: spread, batch: b)],
                                                                seconds: seconds)
                    emit(["kernel": .string("inference"), "model": .string(name), "sparsity": .number(s), "distribution": .string(distribution),
                          "batch": .int(b), "samples_per_second": .number(rates[0]), "dense_samples_per_second": .number(rates[1]),
                          "speedup_vs_dense": .number(rates[0] / rates[1])],
                         text: name.padding(toLength: 15, withPad: " ", startingAt: 0)
                            + String(format: " %8.2f  %5d  %9.0f  %15.0f  %7.2fx", s, b, rates[0], rates[1], rates[0] / rates[1]))
                }
            }
        }
    }

    /// `--condensed`: each fully connected layer's forward pass with a constant fan-in (SRigL's
    /// mask), on the CSR kernel and on the condensed layout, at batch 1 and at `batch`.
    private func condensedRows() {
        let levels = sparsities.split(separator: ",").map { Double($0)! }.filter { $0 > 0 }
        if !json {
            print("one fully connected layer's forward pass, constant fan-in k per neuron (SRigL), one thread: useful GFLOP/s")
            print("model           layer          sparsity    k  batch      CSR  condensed  condensed/CSR  same bits")
        }
        for name in models.split(separator: ",").map(String.init) {
            for (l, shape) in ModelArchitecture.zoo[name]!.weightShapes.enumerated() where shape.shape.count == 2 {
                for b in [1, batch] {
                    for s in levels {
                        let r = CondensedThroughput.measure(rows: shape.shape[0], cols: shape.shape[1], sparsity: s, batch: b,
                                                            seconds: seconds / 4)
                        let layer = "fc\(l + 1) \(shape.shape[1])>\(shape.shape[0])"
                        emit(["kernel": .string("condensed"), "model": .string(name), "layer": .string(layer), "sparsity": .number(s),
                              "fan_in": .int(r.fanIn), "batch": .int(b), "csr_gflops": .number(r.csr), "condensed_gflops": .number(r.condensed),
                              "condensed_over_csr": .number(r.condensed / r.csr), "same_bits": .string(r.sameBits ? "yes" : "no")],
                             text: name.padding(toLength: 15, withPad: " ", startingAt: 0) + " " + layer.padding(toLength: 14, withPad: " ", startingAt: 0)
                                + String(format: " %8.2f %4d  %5d  %7.2f  %9.2f  %12.2fx  %@", s, r.fanIn, b, r.csr, r.condensed,
                                         r.condensed / r.csr, r.sameBits ? "yes" : "no"))
                    }
                }
            }
        }
    }

    /// `--conv-crossover`: each distinct convolution of the models, sparse kernels against the
    /// masked dense product, one micro-batch.
    private func crossover() {
        let densities = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
        let microbatch = batch / microbatches
        if !json {
            print("one convolution's training pass (forward, both gradients), micro-batch \(microbatch): masked dense time / sparse time")
            print("model           convolution              " + densities.map { String(format: "%6.2f", $0) }.joined(separator: " ") + "  crossover")
        }
        for name in models.split(separator: ",").map(String.init) {
            var seen: [String] = []
            for case let conv as Conv2D in ModelArchitecture.zoo[name]!.makeModel(seed: 1).leaves {
                let g = conv.geometry
                let shape = "\(g.channels)x\(g.height)x\(g.width)>\(conv.outputChannels)@\(g.kernel)x\(g.kernel)/\(g.stride)"
                guard !seen.contains(shape) else { continue }
                seen.append(shape)
                let rows = ConvolutionCrossover.measure(geometry: g, outputChannels: conv.outputChannels, densities: densities,
                                                        batch: microbatch, seconds: seconds / 10)
                let crossover = rows.first { $0.denseSeconds < $0.sparseSeconds }?.density
                emit(["kernel": .string("conv_crossover"), "model": .string(name), "convolution": .string(shape),
                      "batch": .int(microbatch), "crossover_density": crossover.map(JSONValue.number) ?? .null,
                      "dense_over_sparse": .object(rows.map { (String($0.density), $0.denseSeconds / $0.sparseSeconds) })],
                     text: name.padding(toLength: 15, withPad: " ", startingAt: 0) + " " + shape.padding(toLength: 24, withPad: " ", startingAt: 0)
                        + rows.map { String(format: "%6.2f", $0.denseSeconds / $0.sparseSeconds) }.joined(separator: " ")
                        + "  " + (crossover.map { String(format: "%.2f", $0) } ?? "> 0.7"))
            }
        }
    }

    enum JSONValue {
        case string(String), number(Double), int(Int), null
        /// An object of numbers, keys in order.
        case object([(String, Double)])
    }

    /// Prints `text`, or with --json the fields as one JSON line (in the given key order).
    private func emit(_ fields: KeyValuePairs<String, JSONValue>, text: String) {
        guard json else {
            print(text)
            return
        }
        var j = JSONLine()
        for (key, value) in fields {
            switch value {
            case .string(let s): j.add(key, s)
            case .number(let d): j.add(key, d)
            case .int(let i): j.add(key, i)
            case .null: j.add(key, json: "null")
            case .object(let fields):
                var o = JSONLine()
                for (k, v) in fields { o.add(k, v) }
                j.add(key, json: o.text)
            }
        }
        print(j.text)
    }
}
