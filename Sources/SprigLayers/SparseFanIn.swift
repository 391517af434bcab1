/// Which fan-in scales a sparse layer's initial weights.
///
/// With the dense fan-in a neuron's weights have the variance the dense layer would give
/// them (He: `2 / n_in`), so a neuron with few real inputs starts with pre-activations
/// about `sqrt(n_in / fan_in)` times too small, at every layer. The sparse fan-in scales
/// each neuron by its own number of active inputs (He: `W_ij ~ N(0, 2 / fan_in_i)`; Glorot:
/// `U(-a, a)`, `a = sqrt(6 / (fan_in_i + fan_out_j))` with the active counts of row i and
/// column j), as proposed by Evci, Ioannou, Keskin, Dauphin, "Gradient flow in sparse neural
/// networks and how lottery tickets win", AAAI 2022. Both draw the same underlying random
/// value per position; they differ by the per-neuron scale only.
public enum SparseFanIn: String, CaseIterable, Sendable {
    /// Each neuron's active inputs (the default for sparse methods).
    case sparse
    /// The dense layer's inputs (the behaviour of Sprig before the sparse fan-in).
    case dense
}
