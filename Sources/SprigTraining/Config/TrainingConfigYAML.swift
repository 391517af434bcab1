import SprigTensor
import SprigData
import SprigExport
import SprigLayers
import SprigSparsity
import SprigModels
import SprigDistributed

/// The effective config as YAML, every field written out (file values and flag overrides
/// alike), so that `TrainingConfig.parse(text: yaml)` gives back an equal config: what a
/// checkpoint stores to continue a run exactly.
extension TrainingConfig {
    public var yaml: String {
        func number(_ d: Double) -> String { String(d) }
        var lines: [String] = []
        if ModelArchitecture.zoo[modelName] != nil {
            lines.append("model: \(modelName)") // fitted to the data again when read
        } else if case .mlp(let sizes) = model {
            lines.append("model: {mlp: [\(sizes.map(String.init).joined(separator: ", "))]}")
        } else if case .graph(_, let layers) = model {
            lines.append("model: {name: \"\(modelName)\", layers: \(LayerListYAML.yaml(layers))}")
        }
        lines += dataYAML
        if !normalize { lines.append("normalize: false") }
        lines.append("epochs: \(epochs)")
        lines.append("batch_size: \(batchSize)")
        lines.append("microbatches: \(microbatches)")
        lines.append("eval_batch_size: \(evalBatchSize)")
        lines.append("seed: \(seed)")
        lines.append("init: \(initializer.rawValue)")
        if let maxSteps { lines.append("max_steps: \(maxSteps)") }
        if validation > 0 { lines.append("validation: \(validation)") }
        lines.append("replica_check_every: \(replicaCheckEvery)")
        lines.append("checkpoint_every: \(checkpointEvery)")
        if checkpointEveryMinutes > 0 { lines.append("checkpoint_every_minutes: \(number(checkpointEveryMinutes))") }
        lines.append("checkpoint_keep: \(checkpointKeep)")
        if let adam {
            lines.append("optimizer: {name: adam, lr: \(number(learningRate)), beta1: \(number(adam.beta1)), beta2: \(number(adam.beta2)), "
                         + "eps: \(number(adam.epsilon)), weight_decay: \(number(adam.weightDecay))"
                         + (adam.decayBiases ? ", decay_biases: true}" : "}"))
        } else {
            lines.append("optimizer: {name: sgd, lr: \(number(learningRate)), momentum: \(number(sgd.momentum)), "
                         + "nesterov: \(sgd.nesterov), weight_decay: \(number(sgd.weightDecay))"
                         + (sgd.decayBiases ? ", decay_biases: true}" : "}"))
        }
        lines.append("schedule: \(schedule.yaml)")
        let s = sparsity
        if s.method != .dense {
            lines.append("sparsity:")
            lines.append("  method: \(s.method.name)")
            lines.append("  distribution: \(s.distribution.rawValue)")
            lines.append("  sparsity: \(number(s.sparsity))")
            if !s.overrides.isEmpty {
                lines.append("  layers: {" + s.overrides.keys.sorted().map { "\($0): \(number(s.overrides[$0]!))" }.joined(separator: ", ") + "}")
            }
            lines.append("  delta_t: \(s.deltaT)")
            lines.append("  drop_fraction: \(number(s.dropFraction))")
            lines.append("  drop_schedule: \(s.dropSchedule.rawValue)")
            lines.append("  begin_step: \(s.beginStep)")
            if let end = s.endStep { lines.append("  end_step: \(end)") }
            lines.append("  end_fraction: \(number(s.endFraction))")
            for option in s.method.options {
                let value = s.options[option.key]
                lines.append("  \(option.key): " + (option.isFlag ? "\(value != 0)" : number(value)))
            }
            lines.append("  dense_math_density: \(number(s.denseMathDensity))")
            lines.append("  conv_dense_math_density: \(number(s.convDenseMathDensity))")
            lines.append("  dense_gradient_reduction: \(s.denseGradientReduction?.rawValue ?? "auto")")
            lines.append("  tile_budget_mb: \(s.tileBudgetMB)")
            lines.append("  fan_in: \(s.fanIn.rawValue)")
        } else if s.fanIn != SparsitySettings().fanIn {
            // the dense method's only sparsity key: sprig prune (NNrelief) resets by it
            lines.append("sparsity: {fan_in: \(s.fanIn.rawValue)}")
        }
        if let nnrelief { lines += nnrelief.yaml }
        return lines.joined(separator: "\n") + "\n"
    }
}
