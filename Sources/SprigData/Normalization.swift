/// Maps pixel bytes to standardised floats: `x = (p / 255 - mean) / std`, with `mean`
/// and `std` taken over every pixel of the training set, so that inputs have zero mean and
/// unit variance. Held as a 256-entry lookup table.
public struct Normalization {
    public let mean: Float
    public let std: Float
    public let table: [Float]

    public init(mean: Float, std: Float) {
        self.mean = mean
        self.std = std
        table = (0..<256).map { (Float($0) / 255 - mean) / std }
    }

    /// The statistics of `dataset`'s pixels (in double precision).
    public init(fitting dataset: Dataset) {
        // Four interleaved histograms, so that runs of equal pixels do not wait on one counter.
        var counts = [Int](repeating: 0, count: 4 * 256)
        counts.withUnsafeMutableBufferPointer { c in
            dataset.pixels.withUnsafeBufferPointer { px in
                let quads = px.count / 4
                for i in 0..<quads {
                    c[Int(px[4 * i])] += 1
                    c[256 + Int(px[4 * i + 1])] += 1
                    c[512 + Int(px[4 * i + 2])] += 1
                    c[768 + Int(px[4 * i + 3])] += 1
                }
                for i in (4 * quads)..<px.count { c[Int(px[i])] += 1 }
            }
        }
        let histogram: [Int] = (0..<256).map { (v: Int) -> Int in counts[v] + counts[256 + v] + counts[512 + v] + counts[768 + v] }
        let n = Double(dataset.pixels.count)
        var sum = 0.0, sumSquares = 0.0
        for (v, c) in histogram.enumerated() {
            let x = Double(v) / 255
            sum += x * Double(c)
            sumSquares += x * x * Double(c)
        }
        let mean = sum / n
        let variance = max(sumSquares / n - mean * mean, 1e-12)
        self.init(mean: Float(mean), std: Float(variance.squareRoot()))
    }
}
