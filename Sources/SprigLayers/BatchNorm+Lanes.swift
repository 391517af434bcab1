import SprigTensor

/// Batch norm's loops over a channel's values, in SIMD lanes.
extension BatchNorm {
    // The loops over a channel's values in a micro-batch: `positions` runs of `m` examples,
    // `stride` apart, eight lanes at a time (Swift does not vectorise float reductions by
    // itself), the rest one by one. A run's lanes are added in Float, then widened and
    // added across runs in Double lane by lane; the lanes are added at the end. What sits
    // beside the micro-batch never enters.

    /// `sum x` over the runs.
    @inline(__always)
    static func sum(_ x: UnsafePointer<Float>, stride: Int, positions: Int, _ m: Int) -> Double {
        var total = SIMD8<Double>(), tail = 0.0
        for p in 0..<positions {
            let row = x + p * stride
            var acc = SIMD8<Float>()
            var i = 0
            while i + 8 <= m { acc += load8(row + i); i += 8 }
            total += SIMD8<Double>(acc)
            while i < m { tail += Double(row[i]); i += 1 }
        }
        return total.sum() + tail
    }

    /// `sum (x - mean)^2` over the runs.
    @inline(__always)
    static func squaredDeviations(_ x: UnsafePointer<Float>, stride: Int, positions: Int, _ m: Int, _ mean: Float) -> Double {
        var total = SIMD8<Double>(), tail = 0.0
        let mean8 = SIMD8<Float>(repeating: mean)
        for p in 0..<positions {
            let row = x + p * stride
            var acc = SIMD8<Float>()
            var i = 0
            while i + 8 <= m {
                let d = load8(row + i) - mean8
                acc = acc.addingProduct(d, d)
                i += 8
            }
            total += SIMD8<Double>(acc)
            while i < m { let d = Double(row[i] - mean); tail += d * d; i += 1 }
        }
        return total.sum() + tail
    }

    /// `xhat = (x - mean) inverse` and the upstream gradient `g` of the normalised value,
    /// eight lanes: `dy`, or through a fused ReLU (`relu`) `dy [gamma xhat + beta > 0]`, the
    /// forward pass's `y > 0` recomputed with its operations (so the same bits).
    @inline(__always)
    static func lanes(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ i: Int, _ mean: SIMD8<Float>,
                      _ inverse: SIMD8<Float>, _ gamma: SIMD8<Float>, _ beta: SIMD8<Float>,
                      relu: Bool) -> (g: SIMD8<Float>, xhat: SIMD8<Float>) {
        let h = (load8(x + i) - mean) * inverse
        let g = load8(dy + i)
        guard relu else { return (g, h) }
        return (g.replacing(with: 0, where: .!(beta.addingProduct(gamma, h) .> 0)), h)
    }

    /// One value of `lanes`.
    @inline(__always)
    static func lane(_ dy: Float, _ x: Float, mean: Float, inverse: Float, gamma: Float, beta: Float,
                     relu: Bool) -> (g: Float, xhat: Float) {
        let h = (x - mean) * inverse
        return (relu && !(beta.addingProduct(gamma, h) > 0) ? 0 : dy, h)
    }

    /// `(sum g, sum g xhat)` over the runs (`lanes`).
    @inline(__always)
    static func gradientSums(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, stride: Int, positions: Int, _ m: Int,
                             mean: Float, inverse: Float, gamma: Float, beta: Float, relu: Bool) -> (Double, Double) {
        var totalA = SIMD8<Double>(), totalD = SIMD8<Double>(), tailA = 0.0, tailD = 0.0
        let mean8 = SIMD8<Float>(repeating: mean), inverse8 = SIMD8<Float>(repeating: inverse)
        let gamma8 = SIMD8<Float>(repeating: gamma), beta8 = SIMD8<Float>(repeating: beta)
        for p in 0..<positions {
            let g = dy + p * stride, v = x + p * stride
            var a = SIMD8<Float>(), d = SIMD8<Float>()
            var i = 0
            while i + 8 <= m {
                let (gi, h) = lanes(g, v, i, mean8, inverse8, gamma8, beta8, relu: relu)
                a += gi
                d = d.addingProduct(gi, h)
                i += 8
            }
            totalA += SIMD8<Double>(a)
            totalD += SIMD8<Double>(d)
            while i < m {
                let (gi, h) = lane(g[i], v[i], mean: mean, inverse: inverse, gamma: gamma, beta: beta, relu: relu)
                tailA += Double(gi)
                tailD += Double(gi) * Double(h)
                i += 1
            }
        }
        return (totalA.sum() + tailA, totalD.sum() + tailD)
    }

    /// `y = gamma xhat + beta` over `m` values, `xhat = (x - mean) inverse`; with `relu`,
    /// negative values set to 0 as `ReLU` sets them.
    @inline(__always)
    static func normalize(_ x: UnsafePointer<Float>, _ m: Int, mean: Float, inverse: Float, gamma: Float, beta: Float,
                          relu: Bool, y: UnsafeMutablePointer<Float>) {
        let mean8 = SIMD8<Float>(repeating: mean), inverse8 = SIMD8<Float>(repeating: inverse)
        let gamma8 = SIMD8<Float>(repeating: gamma), beta8 = SIMD8<Float>(repeating: beta)
        var i = 0
        while i + 8 <= m {
            let v = beta8.addingProduct(gamma8, (load8(x + i) - mean8) * inverse8)
            store8(relu ? v.replacing(with: 0, where: v .< 0) : v, y + i)
            i += 8
        }
        while i < m {
            let v = beta.addingProduct(gamma, (x[i] - mean) * inverse)
            y[i] = relu && v < 0 ? 0 : v
            i += 1
        }
    }

    /// `dx = scale (g - meanDy - xhat meanDyXhat)` over `m` values (`lanes`).
    @inline(__always)
    static func inputGradient(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ m: Int, mean: Float, inverse: Float,
                              gamma: Float, beta: Float, relu: Bool, scale: Float, meanDy: Float, meanDyXhat: Float,
                              dx: UnsafeMutablePointer<Float>) {
        let mean8 = SIMD8<Float>(repeating: mean), inverse8 = SIMD8<Float>(repeating: inverse)
        let gamma8 = SIMD8<Float>(repeating: gamma), beta8 = SIMD8<Float>(repeating: beta)
        let scale8 = SIMD8<Float>(repeating: scale), meanDy8 = SIMD8<Float>(repeating: meanDy)
        let meanDyXhat8 = SIMD8<Float>(repeating: meanDyXhat)
        var i = 0
        while i + 8 <= m {
            let (g, h) = lanes(dy, x, i, mean8, inverse8, gamma8, beta8, relu: relu)
            store8(scale8 * (g - meanDy8 - h * meanDyXhat8), dx + i)
            i += 8
        }
        while i < m {
            let (g, h) = lane(dy[i], x[i], mean: mean, inverse: inverse, gamma: gamma, beta: beta, relu: relu)
            dx[i] = scale * (g - meanDy - h * meanDyXhat)
            i += 1
        }
    }
}

/// An unaligned SIMD8 load and store.
@inline(__always)
func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }

@inline(__always)
func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}
