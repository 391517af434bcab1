import SprigTensor

/// The connectivity of a first layer per input pixel: how many active connections leave
/// each pixel (the column sums of the layer's mask), drawn as a heatmap of the image
/// shape, as in the RigL announcement's MNIST figure where connections migrate from the
/// empty border to the centre of the digits.
public enum ConnectivityMap {
    /// Active outgoing connections of each input feature of a layer with mask `pattern`
    /// (outputs x inputs): its column counts.
    public static func counts(_ pattern: SparsePattern) -> [Int] {
        var counts = [Int](repeating: 0, count: pattern.cols)
        for c in pattern.columns { counts[Int(c)] += 1 }
        return counts
    }

    /// A row of heatmaps (`frames`, each `rows x cols` counts) on one colour scale from 0 to
    /// the largest count, each pixel `scale` x `scale`, frames `gap` pixels apart.
    public static func image(_ frames: [[Int]], rows: Int, cols: Int, scale: Int = 8, gap: Int = 6) -> RGBImage {
        let top = max(frames.flatMap { $0 }.max() ?? 1, 1)
        let w = frames.count * cols * scale + (frames.count - 1) * gap
        var image = RGBImage(width: max(w, 1), height: rows * scale)
        for (f, counts) in frames.enumerated() {
            let x0 = f * (cols * scale + gap)
            for r in 0..<rows {
                for c in 0..<cols {
                    image.fill(x: x0 + c * scale, y: r * scale, w: scale, h: scale,
                               color: Viridis.color(Double(counts[r * cols + c]) / Double(top)))
                }
            }
        }
        return image
    }
}
