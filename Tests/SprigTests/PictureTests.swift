import Foundation
import Testing
@testable import Sprig
@testable import SprigExport
@testable import SprigTensor

/// The text of the pictures (BitmapFont), and the connectivity maps' title, frame labels
/// and colour scale.
@Suite struct PictureTests {
    static let white: (UInt8, UInt8, UInt8) = (255, 255, 255)

    /// Positions of the pixels of `image` that are not white.
    static func ink(_ image: RGBImage) -> [(x: Int, y: Int)] {
        (0..<image.height).flatMap { y in (0..<image.width).compactMap { x in image[x, y] != white ? (x, y) : nil } }
    }

    @Test func glyphTableIsWellFormed() {
        for (character, rows) in BitmapFont.glyphs {
            #expect(rows.count == BitmapFont.capHeight || rows.count == BitmapFont.glyphHeight, "\(character)")
            #expect(rows.allSatisfy { $0.count == BitmapFont.glyphWidth && $0.allSatisfy { $0 == "#" || $0 == "." } }, "\(character)")
        }
        let needed = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz .,:;-+=%()/_'!?"
        #expect(needed.filter { !BitmapFont.hasGlyph($0) }.isEmpty)
        // every letter and digit can be told from every other
        let drawn = needed.filter { $0.isLetter || $0.isNumber }.map { BitmapFont.rows($0) }
        #expect(Set(drawn.map { $0.joined() }).count == drawn.count)
    }

    @Test func textInksExactlyItsGlyphs() {
        var image = RGBImage(width: 40, height: 20)
        image.draw(text: " ", x: 1, y: 1, scale: 1)
        #expect(Self.ink(image).isEmpty)
        image.draw(text: "4", x: 1, y: 1, scale: 1)
        let expected = BitmapFont.rows("4").enumerated().flatMap { y, row in
            row.enumerated().compactMap { x, bit in bit == "#" ? (x + 1, y + 1) : nil }
        }
        #expect(Self.ink(image).map { "\($0.x),\($0.y)" } == expected.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.map { "\($0.0),\($0.1)" })
        // at scale 2 every cell is 2 x 2 pixels; a character without a glyph is drawn as "?"
        var big = RGBImage(width: 40, height: 20), question = RGBImage(width: 40, height: 20)
        big.draw(text: "4", x: 0, y: 0, scale: 2)
        #expect(Self.ink(big).count == 4 * expected.count)
        big = RGBImage(width: 40, height: 20)
        big.draw(text: "\u{263A}", x: 0, y: 0, scale: 1)
        question.draw(text: "?", x: 0, y: 0, scale: 1)
        #expect(big.pixels == question.pixels && !Self.ink(big).isEmpty)
        #expect(BitmapFont.width(of: "ab", scale: 3) == 3 * (BitmapFont.advance + BitmapFont.glyphWidth))
        // text partly or wholly outside the image is clipped
        var small = RGBImage(width: 4, height: 4)
        small.draw(text: "88", x: -30, y: -30, scale: 2)
        small.draw(text: "8", x: 20, y: 20, scale: 2)
        #expect(Self.ink(small).isEmpty)
        small.draw(text: "8", x: -2, y: -2, scale: 1)
        #expect(!Self.ink(small).isEmpty)
    }

    @Test func wrapBreaksAtSpacesAndNewlines() {
        let scale = 2, width = BitmapFont.width(of: "aaaa bbb", scale: scale)
        #expect(BitmapFont.wrap("aaaa bbb cc", width: width, scale: scale) == ["aaaa bbb", "cc"])
        #expect(BitmapFont.wrap("aaaa\nbbb cc", width: width, scale: scale) == ["aaaa", "bbb cc"])
        #expect(BitmapFont.wrap("abcdefghijkl", width: width, scale: scale) == ["abcdefgh", "ijkl"])
        #expect(BitmapFont.wrap("aaaa bbb cc", width: width - 1, scale: scale) == ["aaaa", "bbb cc"])
    }

    /// Two frames of 4 x 4 pixels, counts all 2 and all 4 (so each frame has one colour).
    static func frames(top: Int = 4) -> [[Int]] { [[Int](repeating: 2, count: 16), [Int](repeating: top, count: 16)] }

    /// The box (left, top, right, bottom; exclusive) of the pixels coloured as `value` of `top`
    /// left of `beforeX`.
    static func box(_ image: RGBImage, _ value: Int, of top: Int, beforeX: Int = .max) -> (Int, Int, Int, Int) {
        let color = Viridis.color(Double(value) / Double(top))
        let hits = (0..<image.height).flatMap { y in (0..<min(image.width, beforeX)).compactMap { x in image[x, y] == color ? (x, y) : nil } }
        return (hits.map(\.0).min() ?? -1, hits.map(\.1).min() ?? -1, (hits.map(\.0).max() ?? -2) + 1, (hits.map(\.1).max() ?? -2) + 1)
    }

    @Test func titleAndLabelsAddRowsAboveTheFrames() {
        let plain = ConnectivityMap.image(Self.frames(), rows: 4, cols: 4, scale: 8, gap: 6, textScale: 2)
        let titled = ConnectivityMap.image(Self.frames(), rows: 4, cols: 4, scale: 8, gap: 6,
                                           title: "one\ntwo", labels: ["epoch 0", "epoch 4"], textScale: 2)
        // the frames keep their size; the title's two lines and the labels' line come above them
        let line = BitmapFont.lineHeight * 2
        #expect(titled.height == plain.height + 3 * line + 2 * 2)
        #expect(titled.width == plain.width)
        let a = Self.box(plain, 2, of: 4), b = Self.box(titled, 2, of: 4)
        #expect(a.2 - a.0 == 32 && a.3 - a.1 == 32 && b.2 - b.0 == 32 && b.3 - b.1 == 32)
        #expect(b.1 == a.1 + 3 * line + 2 * 2)
        // the scale bar is right of the frames: wider than them, and wider for longer tick values
        let second = Self.box(plain, 4, of: 4, beforeX: a.0 + 40 + 32)
        #expect(plain.width > second.2 + 5 * 2)
        let wide = ConnectivityMap.image(Self.frames(top: 4000), rows: 4, cols: 4, scale: 8, gap: 6, textScale: 2)
        #expect(wide.width == plain.width + 3 * BitmapFont.advance * 2)
    }

    @Test func frameLabelsComeFromTheEpochsPassed() {
        let epochs = ConnectivityMap.image(Self.frames(), rows: 4, cols: 4, scale: 8, gap: 6, labels: ["0", "4"], textScale: 2)
        let other = ConnectivityMap.image(Self.frames(), rows: 4, cols: 4, scale: 8, gap: 6, labels: ["0", "8"], textScale: 2)
        let first = Self.box(epochs, 2, of: 4), second = Self.box(epochs, 4, of: 4, beforeX: first.2 + 6 + 32)
        #expect(second.0 == first.2 + 6)
        // the pictures differ only above the second frame, where its label is
        var differing: [(Int, Int)] = []
        for y in 0..<epochs.height { for x in 0..<epochs.width where epochs[x, y] != other[x, y] { differing.append((x, y)) } }
        #expect(!differing.isEmpty)
        #expect(differing.allSatisfy { $0.0 >= second.0 && $0.0 < second.2 && $0.1 < second.1 })
        // and above the first frame is its label's ink, centred on it
        let above = Self.ink(epochs).filter { $0.y < first.1 && $0.x >= first.0 && $0.x < first.2 }
        #expect(above.count == 4 * BitmapFont.rows("0").joined().filter { $0 == "#" }.count)
        #expect(above.map(\.x).min()! - first.0 == first.2 - 1 - above.map(\.x).max()!)
    }

    @Test func colourScaleSpansZeroToTheLargestCount() {
        let image = ConnectivityMap.image(Self.frames(), rows: 4, cols: 4, scale: 8, gap: 6, textScale: 2)
        let first = Self.box(image, 2, of: 4), frames = Self.box(image, 4, of: 4, beforeX: first.2 + 6 + 32)
        // the bar: right of the frames, as tall as they are, the top colour at the top and 0 at the bottom
        let bar = (frames.2..<image.width).first { x in image[x, frames.1] == Viridis.color(1) }
        #expect(bar != nil)
        if let bar {
            #expect(image[bar, frames.3 - 1] == Viridis.color(0))
            #expect(image[bar, frames.1 - 1] == Self.white && image[bar, frames.3] == Self.white)
        }
    }
}
