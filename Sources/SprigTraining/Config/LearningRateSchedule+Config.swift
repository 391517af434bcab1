/// The `schedule:` mapping of a config (and `nnrelief.retrain_schedule`):
/// `{name: constant | step | cosine, milestones: [E, ...], gamma: G, min_lr: M, warmup_epochs: W}`.
extension LearningRateSchedule {
    /// Reads a schedule mapping; unknown names and keys are errors naming the field.
    public static func parse(_ s: ConfigReader) throws -> LearningRateSchedule {
        let name = try s.string("name") ?? "cosine"
        let shape: Shape
        switch name {
        case "constant":
            shape = .constant
        case "step":
            let milestones = try s.intList("milestones") ?? []
            let gamma = try s.double("gamma") ?? 0.1
            guard gamma > 0 && gamma <= 1 else { throw s.error("gamma", "must be in (0, 1], got \(gamma)") }
            shape = .step(milestones: milestones, gamma: gamma)
        case "cosine":
            let minimum = try s.double("min_lr") ?? 0
            guard minimum >= 0 else { throw s.error("min_lr", "must be non-negative, got \(minimum)") }
            shape = .cosine(minimum: minimum)
        default:
            throw s.error("name", "unknown schedule '\(name)' (known: constant, step, cosine)")
        }
        let warmup = try s.double("warmup_epochs") ?? 0
        guard warmup >= 0 else { throw s.error("warmup_epochs", "must be non-negative, got \(warmup)") }
        try s.rejectUnknownKeys()
        return LearningRateSchedule(shape: shape, warmupEpochs: warmup)
    }

    /// The schedule as a YAML flow mapping that `parse` reads back to an equal schedule.
    public var yaml: String {
        let warmup = "warmup_epochs: \(String(warmupEpochs))"
        switch shape {
        case .constant:
            return "{name: constant, \(warmup)}"
        case .step(let milestones, let gamma):
            return "{name: step, milestones: [\(milestones.map(String.init).joined(separator: ", "))], gamma: \(String(gamma)), \(warmup)}"
        case .cosine(let minimum):
            return "{name: cosine, min_lr: \(String(minimum)), \(warmup)}"
        }
    }
}
