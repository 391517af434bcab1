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

    /// `(sum dy, sum dy xhat)` over the runs.
    @inline(__always)
    static func gradientSums(_ dy: UnsafePointer<Float>, _ xhat: UnsafePointer<Float>, stride: Int, positions: Int,
                             _ m: Int) -> (Double, Double) {
        var totalA = SIMD8<Double>(), totalD = SIMD8<Double>(), tailA = 0.0, tailD = 0.0
        for p in 0..<positions {
            let g = dy + p * stride, h = xhat + p * stride
            var a = SIMD8<Float>(), d = SIMD8<Float>()
            var i = 0
            while i + 8 <= m {
                let gi = load8(g + i)
                a += gi
                d = d.addingProduct(gi, load8(h + i))
                i += 8
            }
            totalA += SIMD8<Double>(a)
            totalD += SIMD8<Double>(d)
            while i < m { tailA += Double(g[i]); tailD += Double(g[i]) * Double(h[i]); i += 1 }
        }
        return (totalA.sum() + tailA, totalD.sum() + tailD)
    }

    /// `xhat = (x - mean) inverse`, `y = gamma xhat + beta` over `m` values.
    @inline(__always)
    static func normalize(_ x: UnsafePointer<Float>, _ m: Int, mean: Float, inverse: Float, gamma: Float, beta: Float,
                          xhat: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>) {
        let mean8 = SIMD8<Float>(repeating: mean), inverse8 = SIMD8<Float>(repeating: inverse)
        let gamma8 = SIMD8<Float>(repeating: gamma), beta8 = SIMD8<Float>(repeating: beta)
        var i = 0
        while i + 8 <= m {
            let h = (load8(x + i) - mean8) * inverse8
            store8(h, xhat + i)
            store8(beta8.addingProduct(gamma8, h), y + i)
            i += 8
        }
        while i < m {
            let h = (x[i] - mean) * inverse
            xhat[i] = h
            y[i] = beta.addingProduct(gamma, h)
            i += 1
        }
    }

    /// `dx = scale (dy - meanDy - xhat meanDyXhat)` over `m` values.
    @inline(__always)
    static func inputGradient(_ dy: UnsafePointer<Float>, _ xhat: UnsafePointer<Float>, _ m: Int, scale: Float, meanDy: Float,
                              meanDyXhat: Float, dx: UnsafeMutablePointer<Float>) {
        let scale8 = SIMD8<Float>(repeating: scale), meanDy8 = SIMD8<Float>(repeating: meanDy)
        let meanDyXhat8 = SIMD8<Float>(repeating: meanDyXhat)
        var i = 0
        while i + 8 <= m {
            store8(scale8 * (load8(dy + i) - meanDy8 - load8(xhat + i) * meanDyXhat8), dx + i)
            i += 8
        }
        while i < m {
            dx[i] = scale * (dy[i] - meanDy - xhat[i] * meanDyXhat)
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
