/// Standardises inputs per channel with the training set's statistics, as
/// `torchvision.transforms.Normalize` does with a data set's channel means and standard
/// deviations:
///
///     bytes:  x = (p / 255 - mean[c]) / std[c]        (p the byte, 0...255)
///     floats: x = (v - mean[c]) / std[c]
///
/// `mean[c]` and `std[c]` are the mean and the population standard deviation of channel
/// c's values (after the 1/255 scaling, for bytes) over every training example, computed
/// in double precision and rounded to float; flat features are one channel. Bytes go
/// through a 256-entry table per channel.
public struct Normalization: Equatable, Sendable {
    public let mean: [Float]
    public let std: [Float]
    /// True when the inputs are bytes, scaled by 1/255 before standardising.
    public let scalesBytes: Bool
    /// For bytes: `channels x 256` values, `table[256 c + p]` = the normalised byte p of channel c.
    public let table: [Float]

    public var channels: Int { mean.count }

    public init(mean: [Float], std: [Float], scalesBytes: Bool = true) {
        precondition(mean.count == std.count && !mean.isEmpty)
        self.mean = mean
        self.std = std
        self.scalesBytes = scalesBytes
        table = scalesBytes ? mean.indices.flatMap { c in (0..<256).map { (Float($0) / 255 - mean[c]) / std[c] } } : []
    }

    /// One channel of bytes.
    public init(mean: Float, std: Float) {
        self.init(mean: [mean], std: [std])
    }

    /// No standardisation: bytes scaled to [0, 1] (`p / 255`), floats as they are (mean 0,
    /// standard deviation 1 in the formulas above). TensorFlow's MNIST reader gives these
    /// inputs, which RigL's MNIST reference trains on (`normalize: false`).
    public init(unscaledFor dataset: Dataset) {
        let isBytes: Bool
        if case .uint8 = dataset.values { isBytes = true } else { isBytes = false }
        self.init(mean: Array(repeating: 0, count: dataset.channels), std: Array(repeating: 1, count: dataset.channels),
                  scalesBytes: isBytes)
    }

    /// The statistics of `dataset`'s channels.
    public init(fitting dataset: Dataset) {
        let channels = dataset.channels, plane = dataset.featureCount / channels
        var mean: [Float] = [], std: [Float] = []
        switch dataset.values {
        case .uint8(let pixels):
            for histogram in Normalization.histograms(pixels, channels: channels, plane: plane) {
                let n = Double(histogram.reduce(0, +))
                var sum = 0.0, sumSquares = 0.0
                for (v, c) in histogram.enumerated() {
                    let x = Double(v) / 255
                    sum += x * Double(c)
                    sumSquares += x * x * Double(c)
                }
                let m = sum / n
                mean.append(Float(m))
                std.append(Float(max(sumSquares / n - m * m, 1e-12).squareRoot()))
            }
            self.init(mean: mean, std: std, scalesBytes: true)
        case .float32(let values):
            let examples = dataset.count, features = dataset.featureCount
            for c in 0..<channels {
                let n = Double(examples * plane)
                var sum = 0.0
                for i in 0..<examples { for p in 0..<plane { sum += Double(values[i * features + c * plane + p]) } }
                let m = sum / n
                var squares = 0.0
                for i in 0..<examples {
                    for p in 0..<plane {
                        let d = Double(values[i * features + c * plane + p]) - m
                        squares += d * d
                    }
                }
                mean.append(Float(m))
                std.append(Float(max(squares / n, 1e-12).squareRoot()))
            }
            self.init(mean: mean, std: std, scalesBytes: false)
        }
    }

    /// A 256-bin histogram of each channel's bytes (examples of `channels` planes of
    /// `plane` bytes each).
    static func histograms(_ pixels: [UInt8], channels: Int, plane: Int) -> [[Int]] {
        // Four interleaved histograms per channel, so that runs of equal pixels do not wait on one counter.
        var counts = [Int](repeating: 0, count: channels * 4 * 256)
        counts.withUnsafeMutableBufferPointer { all in
            pixels.withUnsafeBufferPointer { px in
                let examples = px.count / (channels * plane), quads = plane / 4
                for i in 0..<examples {
                    for ch in 0..<channels {
                        let c = all.baseAddress! + ch * 1024
                        let row = px.baseAddress! + (i * channels + ch) * plane
                        for q in 0..<quads {
                            c[Int(row[4 * q])] += 1
                            c[256 + Int(row[4 * q + 1])] += 1
                            c[512 + Int(row[4 * q + 2])] += 1
                            c[768 + Int(row[4 * q + 3])] += 1
                        }
                        for k in (4 * quads)..<plane { c[Int(row[k])] += 1 }
                    }
                }
            }
        }
        return (0..<channels).map { ch in
            (0..<256).map { v in (0..<4).reduce(0) { $0 + counts[ch * 1024 + 256 * $1 + v] } }
        }
    }

    /// The values as JSON: one number for one channel, a list for several (what the
    /// export's metadata states as `input_mean` and `input_std`).
    public static func json(_ values: [Float]) -> String {
        values.count == 1 ? String(values[0]) : "[" + values.map { String($0) }.joined(separator: ", ") + "]"
    }
}
