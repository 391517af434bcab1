/// The three products of a sparse layer `W` (CSR, `SparsePattern` + values) with
/// feature-major activations (features x batch, row-major), each "for every active weight,
/// one fused multiply-add or dot product over the batch" (docs/ARCHITECTURE.md, "Kernels"):
///
///     forward          Y[i, :]  = b_i + sum_k  w_k X[c_k, :]        (CSR row i)
///     input gradient   dX[c_k, :] += w_k dY[i, :]                   (scatter)
///     weight gradient  g_k = dY[i, :] . X[c_k, :]   for active k   (SDDMM)
///
/// Written with SIMD8 registers (Swift does not vectorise float reductions by itself);
/// the batch is processed in blocks of 32 columns (four registers), then 8, then one.
/// Each costs 2 * nnz * batch FLOPs.
public enum SparseKernels {
    @inline(__always)
    static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// `Y = W X + b 1^T`; `y` is overwritten.
    public static func forward(_ pattern: SparsePattern, values: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                               x: Matrix, y: Matrix) {
        precondition(x.rows == pattern.cols && y.rows == pattern.rows && x.cols == y.cols, "sparse forward shapes")
        let batch = x.cols
        let X = UnsafePointer(x.data), Y = y.data
        pattern.rowStart.withUnsafeBufferPointer { rowStart in
            pattern.columns.withUnsafeBufferPointer { columns in
                let cols = columns.baseAddress!
                for i in 0..<pattern.rows {
                    let lo = Int(rowStart[i]), hi = Int(rowStart[i + 1])
                    let b = bias[i]
                    let out = Y + i * batch
                    var j = 0
                    while j + 32 <= batch {
                        var a0 = SIMD8<Float>(repeating: b), a1 = a0, a2 = a0, a3 = a0
                        for k in lo..<hi {
                            let w = SIMD8<Float>(repeating: values[k])
                            let xp = X + Int(cols[k]) * batch + j
                            a0 = a0.addingProduct(w, load8(xp))
                            a1 = a1.addingProduct(w, load8(xp + 8))
                            a2 = a2.addingProduct(w, load8(xp + 16))
                            a3 = a3.addingProduct(w, load8(xp + 24))
                        }
                        store8(a0, out + j); store8(a1, out + j + 8); store8(a2, out + j + 16); store8(a3, out + j + 24)
                        j += 32
                    }
                    while j + 8 <= batch {
                        var a0 = SIMD8<Float>(repeating: b)
                        for k in lo..<hi {
                            a0 = a0.addingProduct(SIMD8<Float>(repeating: values[k]), load8(X + Int(cols[k]) * batch + j))
                        }
                        store8(a0, out + j)
                        j += 8
                    }
                    while j < batch {
                        var a = b
                        for k in lo..<hi { a += values[k] * X[Int(cols[k]) * batch + j] }
                        out[j] = a
                        j += 1
                    }
                }
            }
        }
    }

    /// `dX = W^T dY`; `dx` is overwritten.
    public static func inputGradient(_ pattern: SparsePattern, values: UnsafePointer<Float>, dy: Matrix, dx: Matrix) {
        precondition(dx.rows == pattern.cols && dy.rows == pattern.rows && dx.cols == dy.cols, "sparse input-gradient shapes")
        let batch = dy.cols
        let DY = UnsafePointer(dy.data), DX = dx.data
        DX.update(repeating: 0, count: dx.count)
        pattern.rowStart.withUnsafeBufferPointer { rowStart in
            pattern.columns.withUnsafeBufferPointer { columns in
                let cols = columns.baseAddress!
                for i in 0..<pattern.rows {
                    let lo = Int(rowStart[i]), hi = Int(rowStart[i + 1])
                    guard lo < hi else { continue }
                    let g = DY + i * batch
                    var j = 0
                    while j + 32 <= batch {
                        let g0 = load8(g + j), g1 = load8(g + j + 8), g2 = load8(g + j + 16), g3 = load8(g + j + 24)
                        for k in lo..<hi {
                            let w = SIMD8<Float>(repeating: values[k])
                            let p = DX + Int(cols[k]) * batch + j
                            store8(load8(p).addingProduct(w, g0), p)
                            store8(load8(p + 8).addingProduct(w, g1), p + 8)
                            store8(load8(p + 16).addingProduct(w, g2), p + 16)
                            store8(load8(p + 24).addingProduct(w, g3), p + 24)
                        }
                        j += 32
                    }
                    while j + 8 <= batch {
                        let g0 = load8(g + j)
                        for k in lo..<hi {
                            let p = DX + Int(cols[k]) * batch + j
                            store8(load8(p).addingProduct(SIMD8<Float>(repeating: values[k]), g0), p)
                        }
                        j += 8
                    }
                    while j < batch {
                        let gj = g[j]
                        for k in lo..<hi { DX[Int(cols[k]) * batch + j] += values[k] * gj }
                        j += 1
                    }
                }
            }
        }
    }

    /// `grad[k] = dY[i, :] . X[c_k, :]` for every active entry k (row i); `grad` (nnz
    /// values, storage order) is overwritten. Eight entries of a row at a time keep eight
    /// SIMD8 accumulators over the batch and finish with one transposed sum
    /// (`sums8`), instead of a horizontal sum per entry; the rest of the row's entries go
    /// four at a time, then one at a time, each summing its lanes in order.
    public static func weightGradient(_ pattern: SparsePattern, dy: Matrix, x: Matrix, grad: UnsafeMutablePointer<Float>) {
        precondition(x.rows == pattern.cols && dy.rows == pattern.rows && x.cols == dy.cols, "sparse weight-gradient shapes")
        let batch = x.cols
        let vectorEnd = batch - batch % 8
        let X = UnsafePointer(x.data), DY = UnsafePointer(dy.data)
        pattern.rowStart.withUnsafeBufferPointer { rowStart in
            pattern.columns.withUnsafeBufferPointer { columns in
                let cols = columns.baseAddress!
                for i in 0..<pattern.rows {
                    let lo = Int(rowStart[i]), hi = Int(rowStart[i + 1])
                    guard lo < hi else { continue }
                    let g = DY + i * batch
                    var k = lo
                    while k + 8 <= hi {
                        let x0 = X + Int(cols[k]) * batch, x1 = X + Int(cols[k + 1]) * batch
                        let x2 = X + Int(cols[k + 2]) * batch, x3 = X + Int(cols[k + 3]) * batch
                        let x4 = X + Int(cols[k + 4]) * batch, x5 = X + Int(cols[k + 5]) * batch
                        let x6 = X + Int(cols[k + 6]) * batch, x7 = X + Int(cols[k + 7]) * batch
                        var a0 = SIMD8<Float>(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0
                        var j = 0
                        while j < vectorEnd {
                            let gj = load8(g + j)
                            a0 = a0.addingProduct(gj, load8(x0 + j))
                            a1 = a1.addingProduct(gj, load8(x1 + j))
                            a2 = a2.addingProduct(gj, load8(x2 + j))
                            a3 = a3.addingProduct(gj, load8(x3 + j))
                            a4 = a4.addingProduct(gj, load8(x4 + j))
                            a5 = a5.addingProduct(gj, load8(x5 + j))
                            a6 = a6.addingProduct(gj, load8(x6 + j))
                            a7 = a7.addingProduct(gj, load8(x7 + j))
                            j += 8
                        }
                        var r = sums8(a0, a1, a2, a3, a4, a5, a6, a7)
                        while j < batch {
                            let gj = g[j]
                            r += gj * SIMD8(x0[j], x1[j], x2[j], x3[j], x4[j], x5[j], x6[j], x7[j])
                            j += 1
                        }
                        store8(r, grad + k)
                        k += 8
                    }
                    while k + 4 <= hi {
                        // Four entries share the loads of dY; each entry's sum is the
                        // one-entry path's (its lanes in order from -0, then the tail).
                        let x0 = X + Int(cols[k]) * batch, x1 = X + Int(cols[k + 1]) * batch
                        let x2 = X + Int(cols[k + 2]) * batch, x3 = X + Int(cols[k + 3]) * batch
                        var a0 = SIMD8<Float>(), a1 = a0, a2 = a0, a3 = a0
                        var j = 0
                        while j < vectorEnd {
                            let gj = load8(g + j)
                            a0 = a0.addingProduct(gj, load8(x0 + j))
                            a1 = a1.addingProduct(gj, load8(x1 + j))
                            a2 = a2.addingProduct(gj, load8(x2 + j))
                            a3 = a3.addingProduct(gj, load8(x3 + j))
                            j += 8
                        }
                        var r = SIMD4<Float>(repeating: -0.0)
                        for lane in 0..<8 { r += SIMD4(a0[lane], a1[lane], a2[lane], a3[lane]) }
                        while j < batch {
                            r += g[j] * SIMD4(x0[j], x1[j], x2[j], x3[j])
                            j += 1
                        }
                        UnsafeMutableRawPointer(grad + k).storeBytes(of: r, as: SIMD4<Float>.self)
                        k += 4
                    }
                    while k < hi {
                        let xp = X + Int(cols[k]) * batch
                        var a = SIMD8<Float>()
                        var j = 0
                        while j < vectorEnd {
                            a = a.addingProduct(load8(g + j), load8(xp + j))
                            j += 8
                        }
                        var sum = a.sum()
                        while j < batch {
                            sum += g[j] * xp[j]
                            j += 1
                        }
                        grad[k] = sum
                        k += 1
                    }
                }
            }
        }
    }

    /// The lane sums of eight vectors, as one vector: lane m is `a_m.sum()`.
    @inline(__always)
    static func sums8(_ a0: SIMD8<Float>, _ a1: SIMD8<Float>, _ a2: SIMD8<Float>, _ a3: SIMD8<Float>,
                      _ a4: SIMD8<Float>, _ a5: SIMD8<Float>, _ a6: SIMD8<Float>, _ a7: SIMD8<Float>) -> SIMD8<Float> {
        @inline(__always) func pair(_ p: SIMD8<Float>, _ q: SIMD8<Float>) -> SIMD8<Float> {
            SIMD8(lowHalf: p.evenHalf + p.oddHalf, highHalf: q.evenHalf + q.oddHalf)
        }
        let t01 = pair(a0, a1), t23 = pair(a2, a3), t45 = pair(a4, a5), t67 = pair(a6, a7)
        return pair(pair(t01, t23), pair(t45, t67))
    }
}
