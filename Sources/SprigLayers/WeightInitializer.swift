import SprigTensor

/// How weights start. Biases start at zero.
public enum WeightInitializer: String, CaseIterable, Sendable {
    /// `U(-a, a)` with `a = sqrt(6 / (fan_in + fan_out))` (Glorot & Bengio, AISTATS 2010);
    /// the default of the Keras layers in RigL's reference code.
    case glorotUniform = "glorot_uniform"
    /// `N(0, 2 / fan_in)` (He et al., ICCV 2015), for ReLU networks.
    case heNormal = "he_normal"

    /// Fills `count` values of a tensor with the given fans from `random`.
    public func fill(_ values: UnsafeMutablePointer<Float>, count: Int, fanIn: Int, fanOut: Int, random: inout StatelessRandom) {
        switch self {
        case .glorotUniform:
            let a = Float((6.0 / Double(fanIn + fanOut)).squareRoot())
            for i in 0..<count { values[i] = random.nextUniform(-a, a) }
        case .heNormal:
            let s = Float((2.0 / Double(fanIn)).squareRoot())
            for i in 0..<count { values[i] = s * random.nextNormal() }
        }
    }
}
