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
        let s = scale(fanIn: fanIn, fanOut: fanOut)
        for i in 0..<count { values[i] = sample(scale: s, random: &random) }
    }

    /// Random draws per value: value i of a fill is drawn from `random.advanced(by: i *
    /// drawsPerValue)`.
    public var drawsPerValue: Int { self == .glorotUniform ? 1 : 2 }

    /// The scale for the given fans: the bound `a` of Glorot's uniform, the standard
    /// deviation of He's normal.
    @inline(__always)
    public func scale(fanIn: Int, fanOut: Int) -> Float {
        switch self {
        case .glorotUniform: return Float((6.0 / Double(fanIn + fanOut)).squareRoot())
        case .heNormal: return Float((2.0 / Double(fanIn)).squareRoot())
        }
    }

    /// One value at `scale`.
    @inline(__always)
    public func sample(scale: Float, random: inout StatelessRandom) -> Float {
        switch self {
        case .glorotUniform: return random.nextUniform(-scale, scale)
        case .heNormal: return scale * random.nextNormal()
        }
    }
}
