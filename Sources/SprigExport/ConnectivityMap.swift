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
    /// the largest count, each pixel `scale` x `scale`, frames `gap` pixels apart; above them
    /// `title` ("\n" starts a line; the picture widens for its longest line up to 2.5 times
    /// the width of the frames and scale, and wraps the rest) and each frame's entry of
    /// `labels` (for instance its epoch), and on their right the colour scale with its range.
    /// Text is drawn with `BitmapFont` at `textScale` pixels per grid cell: by default 2, or
    /// 3 when the frames are wider than 1000 pixels (a strip shown shrunk to a page).
    public static func image(_ frames: [[Int]], rows: Int, cols: Int, scale: Int = 8, gap: Int = 6,
                             title: String = "", labels: [String] = [], textScale: Int? = nil) -> RGBImage {
        let top = max(frames.flatMap { $0 }.max() ?? 1, 1)
        let framesWidth = max(frames.count * cols * scale + (frames.count - 1) * gap, 1), framesHeight = rows * scale
        let ts = textScale ?? (framesWidth > 1000 ? 3 : 2)
        let margin = 6 * ts, lineHeight = BitmapFont.lineHeight * ts, capHeight = BitmapFont.capHeight * ts
        // the colour scale: a bar, ticks on its right, and their values
        let ticks = Array(Set([0, top / 2, top])).sorted()
        let barGap = 4 * ts, barWidth = 5 * ts, tickLength = 2 * ts
        let tickTextWidth = ticks.map { BitmapFont.width(of: String($0), scale: ts) }.max() ?? 0
        let blockWidth = framesWidth + barGap + barWidth + tickLength + 3 * ts + tickTextWidth
        let longest = title.split(separator: "\n").map { BitmapFont.width(of: String($0), scale: ts) }.max() ?? 0
        let contentWidth = max(blockWidth, min(longest, 5 * blockWidth / 2))
        let titleLines = title.isEmpty ? [] : BitmapFont.wrap(title, width: contentWidth, scale: ts)
        let titleHeight = titleLines.isEmpty ? 0 : titleLines.count * lineHeight + 2 * ts
        let framesY = margin + titleHeight + (labels.isEmpty ? 0 : lineHeight)
        var image = RGBImage(width: contentWidth + 2 * margin, height: framesY + framesHeight + capHeight / 2 + margin)
        let ink: (UInt8, UInt8, UInt8) = (30, 30, 30)
        let left = margin + (contentWidth - blockWidth) / 2 // the frames and scale, centred
        for (i, line) in titleLines.enumerated() {
            image.draw(text: line, x: margin + (contentWidth - BitmapFont.width(of: line, scale: ts)) / 2,
                       y: margin + i * lineHeight, scale: ts, color: ink)
        }
        for (f, counts) in frames.enumerated() {
            let x0 = left + f * (cols * scale + gap)
            if f < labels.count {
                image.draw(text: labels[f], x: x0 + (cols * scale - BitmapFont.width(of: labels[f], scale: ts)) / 2,
                           y: framesY - lineHeight + ts, scale: ts, color: ink)
            }
            for r in 0..<rows {
                for c in 0..<cols {
                    image.fill(x: x0 + c * scale, y: framesY + r * scale, w: scale, h: scale,
                               color: Viridis.color(Double(counts[r * cols + c]) / Double(top)))
                }
            }
        }
        let barX = left + framesWidth + barGap
        for y in 0..<framesHeight {
            image.fill(x: barX, y: framesY + y, w: barWidth, h: 1,
                       color: Viridis.color(Double(framesHeight - 1 - y) / Double(max(framesHeight - 1, 1))))
        }
        for value in ticks {
            let y = framesY + Int((1 - Double(value) / Double(top)) * Double(framesHeight - 1))
            image.fill(x: barX + barWidth, y: y - ts / 2, w: tickLength, h: ts, color: ink)
            image.draw(text: String(value), x: barX + barWidth + tickLength + 3 * ts, y: y - capHeight / 2, scale: ts, color: ink)
        }
        return image
    }
}
