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
        var histogram = [Int](repeating: 0, count: 256)
        for p in dataset.pixels { histogram[Int(p)] += 1 }
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
