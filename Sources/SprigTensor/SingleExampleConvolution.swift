/// A sparse convolution of one example with stride 1, the output positions in the SIMD
/// lanes (Park et al., "Faster CNNs with direct sparse convolutions", ICLR 2017): on the
/// input padded with zeros, output row y' of channel i is
///
///     Y[i, y', x'] = fma(w_kT, Xpad[c_kT, y' + ky_kT, x' + kx_kT], ... fma(w_k1, Xpad[...], b_i))
///
/// over row i's active entries in order, eight neighbouring x' at a time from one
/// contiguous run of the padded input: the chain `SparseKernels.forward` gives each
/// element of the patch matrix in its SIMD lanes (the padding's zeros included), with no
/// patch matrix.
public enum SingleExampleConvolution {
    /// True for the geometries it serves: stride 1.
    public static func applies(_ g: ConvolutionGeometry) -> Bool { g.stride == 1 }

    /// The padded width and the size of the padded input buffer (with eight floats of slack
    /// after it for the last vector).
    public static func paddedWidth(_ g: ConvolutionGeometry) -> Int { g.width + 2 * g.padding }
    public static func paddedCount(_ g: ConvolutionGeometry) -> Int {
        g.channels * (g.height + 2 * g.padding) * paddedWidth(g) + 8
    }

    /// Each active entry's offset `c Hp Wp + ky Wp + kx` in the padded input.
    public static func offsets(_ pattern: SparsePattern, _ g: ConvolutionGeometry) -> [Int32] {
        let wp = paddedWidth(g), plane = (g.height + 2 * g.padding) * wp
        return pattern.columns.map { column in
            let c = Int(column) / (g.kernel * g.kernel), ky = (Int(column) / g.kernel) % g.kernel, kx = Int(column) % g.kernel
            return Int32(c * plane + ky * wp + kx)
        }
    }

    /// Writes the padded copy of one example `x` (C H W values) into `padded`
    /// (`paddedCount` floats; zeros around the image and in the slack).
    public static func pad(_ g: ConvolutionGeometry, x: UnsafePointer<Float>, into padded: UnsafeMutablePointer<Float>) {
        padded.update(repeating: 0, count: paddedCount(g))
        let wp = paddedWidth(g), hp = g.height + 2 * g.padding
        for c in 0..<g.channels {
            for y in 0..<g.height {
                (padded + (c * hp + y + g.padding) * wp + g.padding).update(from: x + (c * g.height + y) * g.width, count: g.width)
            }
        }
    }

    /// `y` (O x positions, one example) from the padded input.
    public static func forward(_ pattern: SparsePattern, _ g: ConvolutionGeometry, offsets: [Int32], values: UnsafePointer<Float>,
                               bias: UnsafePointer<Float>, padded: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        precondition(applies(g) && offsets.count == pattern.activeCount, "a stride-1 sparse convolution of one example")
        let wp = paddedWidth(g), ow = g.outputWidth
        pattern.rowStart.withUnsafeBufferPointer { rowStart in
            offsets.withUnsafeBufferPointer { offsets in
                for i in 0..<pattern.rows {
                    let lo = Int(rowStart[i]), hi = Int(rowStart[i + 1])
                    let bi = SIMD8<Float>(repeating: bias[i])
                    for oy in 0..<g.outputHeight {
                        let row = padded + oy * wp, out = y + (i * g.outputHeight + oy) * ow
                        var ox = 0
                        while ox + 16 <= ow {
                            var a0 = bi, a1 = bi
                            for k in lo..<hi {
                                let w = SIMD8<Float>(repeating: values[k])
                                let p = row + Int(offsets[k]) + ox
                                a0 = a0.addingProduct(w, SparseKernels.load8(p))
                                a1 = a1.addingProduct(w, SparseKernels.load8(p + 8))
                            }
                            SparseKernels.store8(a0, out + ox)
                            SparseKernels.store8(a1, out + ox + 8)
                            ox += 16
                        }
                        while ox < ow {
                            var a = bi
                            for k in lo..<hi {
                                a = a.addingProduct(SIMD8<Float>(repeating: values[k]), SparseKernels.load8(row + Int(offsets[k]) + ox))
                            }
                            for lane in 0..<min(8, ow - ox) { out[ox + lane] = a[lane] }
                            ox += 8
                        }
                    }
                }
            }
        }
    }
}
