import SprigTensor

/// `y = max(0, x)`, applied in place; backward `dx = dy * [y > 0]`, also in place.
///
/// In place is safe in a Sequential model: the layer before needs its own input, never its
/// output, for its gradients. After a batch norm the ReLU is fused into it
/// (`BatchNorm.fuseReLUs`) and passes values and gradients through.
public final class ReLU: Layer {
    public let inputFeatures: Int
    /// True when the batch norm before this layer applies it (`BatchNorm.fuseReLUs`).
    public internal(set) var isFused = false
    public var outputFeatures: Int { inputFeatures }
    private var output: Matrix?

    public init(features: Int) {
        inputFeatures = features
    }

    public func forward(_ x: Matrix) -> Matrix {
        let started = StepProfile.start()
        defer { StepProfile.stop(.elementwise, since: started) }
        output = x
        if isFused { return x }
        // Eight lanes at a time with a select instead of a branch: activations are negative
        // about half the time, and a branch per element mispredicts that often.
        let p = x.data, n = x.count
        let raw = UnsafeMutableRawPointer(p)
        var i = 0
        while i + 8 <= n {
            let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            raw.storeBytes(of: v.replacing(with: 0, where: v .< 0), toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n {
            if p[i] < 0 { p[i] = 0 }
            i += 1
        }
        return x
    }

    /// Element by element and exact, so any columns side by side give the same bits.
    public func batchesMicrobatches(ofSize size: Int) -> Bool { true }

    public func backward(_ dy: Matrix, into gradients: GradientBuffers, needInputGradient: Bool) -> Matrix? {
        let started = StepProfile.start()
        defer { StepProfile.stop(.elementwise, since: started) }
        guard needInputGradient else { return nil }
        if isFused { return dy }
        guard let y = output else { preconditionFailure("ReLU.backward before forward") }
        precondition(dy.count == y.count, "ReLU.backward gradient shape mismatch")
        let g = dy.data, v = y.data, n = dy.count
        let rawG = UnsafeMutableRawPointer(g), rawV = UnsafeRawPointer(v)
        var i = 0
        while i + 8 <= n {
            let d = rawG.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            let y = rawV.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            rawG.storeBytes(of: d.replacing(with: 0, where: .!(y .> 0)), toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n {
            if !(v[i] > 0) { g[i] = 0 }
            i += 1
        }
        return dy
    }
}
