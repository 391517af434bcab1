import SprigTensor

/// im2col and its adjoint, for the steps and batches that need the patch matrix itself
/// (`Conv2D`'s comment): rows (c, ky, kx), columns (y', x', n).
extension Conv2D {
    /// Copies each patch row (c, ky, kx) position by position: a batch vector of the input
    /// row (c, y s + ky - pad, x s + kx - pad), or zeros outside the image.
    func im2col(_ x: Matrix, into p: Matrix) {
        let b = x.cols
        for c in 0..<inputChannels {
            for ky in 0..<kernel {
                for kx in 0..<kernel {
                    let row = p.data + ((c * kernel + ky) * kernel + kx) * positions * b
                    // The output columns whose input column is inside the image: with
                    // stride 1 their input positions are consecutive, one copy per row.
                    let (inside, insideEnd) = insideColumns(kx)
                    for oy in 0..<outputHeight {
                        let iy = oy * stride + ky - padding
                        if stride == 1 && iy >= 0 && iy < inputHeight {
                            let dst = row + oy * outputWidth * b
                            dst.update(repeating: 0, count: inside * b)
                            (dst + inside * b).update(from: x.data + ((c * inputHeight + iy) * inputWidth + inside + kx - padding) * b,
                                                      count: (insideEnd - inside) * b)
                            (dst + insideEnd * b).update(repeating: 0, count: (outputWidth - insideEnd) * b)
                            continue
                        }
                        for ox in 0..<outputWidth {
                            let ix = ox * stride + kx - padding
                            let dst = row + (oy * outputWidth + ox) * b
                            if iy >= 0 && iy < inputHeight && ix >= 0 && ix < inputWidth {
                                dst.update(from: x.data + ((c * inputHeight + iy) * inputWidth + ix) * b, count: b)
                            } else {
                                dst.update(repeating: 0, count: b)
                            }
                        }
                    }
                }
            }
        }
    }

    /// The output columns `lo..<hi` whose input column `ox s + kx - pad` lies inside the image.
    private func insideColumns(_ kx: Int) -> (Int, Int) {
        var lo = 0
        while lo < outputWidth && lo * stride + kx - padding < 0 { lo += 1 }
        var hi = lo
        while hi < outputWidth && hi * stride + kx - padding < inputWidth { hi += 1 }
        return (lo, hi)
    }

    /// The adjoint of im2col: adds each patch-row gradient back into its input row.
    func col2im(_ dp: Matrix, into dx: Matrix) {
        let b = dx.cols
        dx.data.update(repeating: 0, count: dx.count)
        for c in 0..<inputChannels {
            for ky in 0..<kernel {
                for kx in 0..<kernel {
                    let row = dp.data + ((c * kernel + ky) * kernel + kx) * positions * b
                    let (inside, insideEnd) = insideColumns(kx)
                    for oy in 0..<outputHeight {
                        let iy = oy * stride + ky - padding
                        guard iy >= 0 && iy < inputHeight else { continue }
                        if stride == 1 {
                            // One pass over the row's consecutive positions; each input value
                            // still gets one addition per (c, ky, kx, oy), in the same order.
                            let src = row + (oy * outputWidth + inside) * b
                            let dst = dx.data + ((c * inputHeight + iy) * inputWidth + inside + kx - padding) * b
                            for n in 0..<((insideEnd - inside) * b) { dst[n] += src[n] }
                            continue
                        }
                        for ox in 0..<outputWidth {
                            let ix = ox * stride + kx - padding
                            guard ix >= 0 && ix < inputWidth else { continue }
                            let src = row + (oy * outputWidth + ox) * b
                            let dst = dx.data + ((c * inputHeight + iy) * inputWidth + ix) * b
                            for n in 0..<b { dst[n] += src[n] }
                        }
                    }
                }
            }
        }
    }
}
