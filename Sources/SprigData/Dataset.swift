import SprigTensor

/// Labelled examples of one shape, in the element type of the files they came from
/// (`ExampleValues`); batches become normalised floats as they are gathered
/// (`Dataset.gather`).
///
/// An example is an image of shape `[C, H, W]` (channels, rows, columns: the values of
/// channel 0 row by row, then channel 1, ..., NCHW without the batch), or `[F]` flat
/// features. Models read it in that order: a fully connected first layer sees the `C H W`
/// values as they are.
public struct Dataset {
    /// `count * featureCount` values, example after example.
    public let values: ExampleValues
    /// One class index per example.
    public let labels: [Int32]
    /// The shape of one example: `[C, H, W]`, or `[F]`.
    public let exampleShape: [Int]

    public var count: Int { labels.count }
    public var featureCount: Int { exampleShape.reduce(1, *) }
    /// True when the examples are images (`[C, H, W]`).
    public var isImage: Bool { exampleShape.count == 3 }
    /// Channels of an image (normalisation is per channel); flat features are one channel.
    public var channels: Int { isImage ? exampleShape[0] : 1 }

    public init(values: ExampleValues, labels: [Int32], exampleShape: [Int]) {
        precondition(exampleShape.count == 1 || exampleShape.count == 3, "an example is [C, H, W] or [F], got \(exampleShape)")
        precondition(values.count == labels.count * exampleShape.reduce(1, *), "value and label counts disagree")
        self.values = values
        self.labels = labels
        self.exampleShape = exampleShape
    }

    /// Images of bytes (or flat byte features).
    public init(pixels: [UInt8], labels: [Int32], exampleShape: [Int]) {
        self.init(values: .uint8(pixels), labels: labels, exampleShape: exampleShape)
    }

    /// The bytes of a byte data set (nil for float features).
    public var pixels: [UInt8]? {
        if case .uint8(let p) = values { return p }
        return nil
    }

    /// The shape as text, `3x32x32` or `784`.
    public var shapeText: String { exampleShape.map(String.init).joined(separator: "x") }

    /// The first example whose label is outside `0..<classes`, as (index, label).
    public func labelOutside(classes: Int) -> (index: Int, label: Int32)? {
        labels.firstIndex { $0 < 0 || Int($0) >= classes }.map { ($0, labels[$0]) }
    }

    /// The first `count - n` examples and the last `n`.
    public func split(holdingOut n: Int) -> (kept: Dataset, heldOut: Dataset) {
        precondition(n >= 0 && n < count)
        let cut = count - n
        let f = featureCount
        return (Dataset(values: values[0..<(cut * f)], labels: Array(labels[..<cut]), exampleShape: exampleShape),
                Dataset(values: values[(cut * f)..<(count * f)], labels: Array(labels[cut...]), exampleShape: exampleShape))
    }
}
