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
        let p = x.data, raw = UnsafeMutableRawPointer(x.data)
        var i = 0
        while i + 8 <= x.count {
            let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            raw.storeBytes(of: v.replacing(with: 0, where: v .< 0), toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < x.count {
            if p[i] < 0 { p[i] = 0 }
            i += 1
        }
        output = x
        return x
    }

    public func backward(_ dy: Matrix, into gradients: GradientBuffers, needInputGradient: Bool) -> Matrix? {
        guard needInputGradient else { return nil }
        guard let y = output else { preconditionFailure("ReLU.backward before forward") }
        precondition(dy.count == y.count, "ReLU.backward gradient shape mismatch")
        let g = dy.data, v = y.data
        let rg = UnsafeMutableRawPointer(g), rv = UnsafeRawPointer(v)
        var i = 0
        while i + 8 <= dy.count {
            let active = rv.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) .> 0
            let gi = rg.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            rg.storeBytes(of: gi.replacing(with: 0, where: .!active), toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < dy.count {
            if !(v[i] > 0) { g[i] = 0 }
            i += 1
        }
        return dy
    }
}
