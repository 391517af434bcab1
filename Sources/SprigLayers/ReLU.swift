import SprigTensor

/// `y = max(0, x)`, applied in place; backward `dx = dy * [y > 0]`, also in place.
///
/// In place is safe in a Sequential model: the layer before needs its own input, never its
/// output, for its gradients.
public final class ReLU: Layer {
    public let inputFeatures: Int
    public var outputFeatures: Int { inputFeatures }
    private var output: Matrix?

    public init(features: Int) {
        inputFeatures = features
    }

    public func forward(_ x: Matrix) -> Matrix {
        let p = x.data
        for i in 0..<x.count where p[i] < 0 { p[i] = 0 }
        output = x
        return x
    }

    public func backward(_ dy: Matrix, into gradients: GradientBuffers, needInputGradient: Bool) -> Matrix? {
        guard needInputGradient else { return nil }
        guard let y = output else { preconditionFailure("ReLU.backward before forward") }
        precondition(dy.count == y.count, "ReLU.backward gradient shape mismatch")
        let g = dy.data, v = y.data
        for i in 0..<dy.count where !(v[i] > 0) { g[i] = 0 }
        return dy
    }
}
