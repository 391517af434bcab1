import SprigTensor

/// Max pooling over non-overlapping `size x size` windows of each channel, on
/// feature-major activations (rows (channel, y, x)): `y[c, y', x'] = max over the window`
/// for every example; backward routes each gradient to the window's arg-max.
public final class MaxPool2D: Layer {
    public let channels: Int, inputHeight: Int, inputWidth: Int, size: Int
    public let outputHeight: Int, outputWidth: Int
    private var output: Matrix?
    private var inputGradient: Matrix?
    /// For every output value, the input row it came from.
    private var argmax: [Int32] = []

    public init(channels: Int, inputHeight: Int, inputWidth: Int, size: Int = 2) {
        self.channels = channels
        self.inputHeight = inputHeight
        self.inputWidth = inputWidth
        self.size = size
        outputHeight = inputHeight / size
        outputWidth = inputWidth / size
        precondition(outputHeight > 0 && outputWidth > 0, "the pooling window does not fit the input")
    }

    public var inputFeatures: Int { channels * inputHeight * inputWidth }
    public var outputFeatures: Int { channels * outputHeight * outputWidth }

    public func forward(_ x: Matrix) -> Matrix {
        let started = StepProfile.start()
        defer { StepProfile.stop(.elementwise, since: started) }
        let b = x.cols
        let y = Matrix.reuse(output, rows: outputFeatures, cols: b)
        output = y
        if argmax.count != y.count { argmax = [Int32](repeating: 0, count: y.count) }
        argmax.withUnsafeMutableBufferPointer { arg in
            for c in 0..<channels {
                for oy in 0..<outputHeight {
                    for ox in 0..<outputWidth {
                        let o = (c * outputHeight + oy) * outputWidth + ox
                        let out = y.data + o * b
                        let first = (c * inputHeight + oy * size) * inputWidth + ox * size
                        out.update(from: x.data + first * b, count: b)
                        (arg.baseAddress! + o * b).update(repeating: Int32(first), count: b)
                        for wy in 0..<size {
                            for wx in 0..<size where wy > 0 || wx > 0 {
                                let r = (c * inputHeight + oy * size + wy) * inputWidth + ox * size + wx
                                let src = x.data + r * b
                                let argRow = arg.baseAddress! + o * b
                                // Eight examples at a time, with selects: the comparison
                                // goes either way about as often, so a branch mispredicts.
                                var n = 0
                                while n + 8 <= b {
                                    let v = UnsafeRawPointer(src + n).loadUnaligned(as: SIMD8<Float>.self)
                                    let m = UnsafeRawPointer(out + n).loadUnaligned(as: SIMD8<Float>.self)
                                    let a = UnsafeRawPointer(argRow + n).loadUnaligned(as: SIMD8<Int32>.self)
                                    let larger = v .> m
                                    UnsafeMutableRawPointer(out + n).storeBytes(of: m.replacing(with: v, where: larger), as: SIMD8<Float>.self)
                                    UnsafeMutableRawPointer(argRow + n).storeBytes(
                                        of: a.replacing(with: Int32(r), where: larger), as: SIMD8<Int32>.self)
                                    n += 8
                                }
                                while n < b {
                                    if src[n] > out[n] {
                                        out[n] = src[n]
                                        argRow[n] = Int32(r)
                                    }
                                    n += 1
                                }
                            }
                        }
                    }
                }
            }
        }
        return y
    }

    public func backward(_ dy: Matrix, into gradients: GradientBuffers, needInputGradient: Bool) -> Matrix? {
        let started = StepProfile.start()
        defer { StepProfile.stop(.elementwise, since: started) }
        guard needInputGradient else { return nil }
        let b = dy.cols
        let dx = Matrix.reuse(inputGradient, rows: inputFeatures, cols: b)
        inputGradient = dx
        if outputHeight * size != inputHeight || outputWidth * size != inputWidth {
            dx.data.update(repeating: 0, count: dx.count) // rows outside every window stay zero
        }
        // The windows do not overlap, so each input row r lies in one window o and
        // dx[r, n] = 0 + dy[o, n] where the arg-max is r, else 0 (the sum the scatter into a
        // zeroed dx makes, -0 included), written eight examples at a time.
        let zero = SIMD8<Float>()
        argmax.withUnsafeBufferPointer { arg in
            for c in 0..<channels {
                for oy in 0..<outputHeight {
                    for ox in 0..<outputWidth {
                        let o = (c * outputHeight + oy) * outputWidth + ox
                        let g = dy.data + o * b
                        let argRow = arg.baseAddress! + o * b
                        for wy in 0..<size {
                            for wx in 0..<size {
                                let r = (c * inputHeight + oy * size + wy) * inputWidth + ox * size + wx
                                let out = dx.data + r * b
                                let r32 = SIMD8<Int32>(repeating: Int32(r))
                                var n = 0
                                while n + 8 <= b {
                                    let a = UnsafeRawPointer(argRow + n).loadUnaligned(as: SIMD8<Int32>.self)
                                    let v = zero + UnsafeRawPointer(g + n).loadUnaligned(as: SIMD8<Float>.self)
                                    UnsafeMutableRawPointer(out + n).storeBytes(of: zero.replacing(with: v, where: a .== r32),
                                                                                as: SIMD8<Float>.self)
                                    n += 8
                                }
                                while n < b {
                                    out[n] = argRow[n] == Int32(r) ? 0 + g[n] : 0
                                    n += 1
                                }
                            }
                        }
                    }
                }
            }
        }
        return dx
    }
}
