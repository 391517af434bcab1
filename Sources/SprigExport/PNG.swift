import SprigTensor
import Zlib

/// An RGB image, 8 bits per channel, row after row.
public struct RGBImage {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (255, 255, 255)) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            pixels[3 * i] = fill.0
            pixels[3 * i + 1] = fill.1
            pixels[3 * i + 2] = fill.2
        }
    }

    public subscript(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        get { let i = 3 * (y * width + x); return (pixels[i], pixels[i + 1], pixels[i + 2]) }
        set { let i = 3 * (y * width + x); pixels[i] = newValue.0; pixels[i + 1] = newValue.1; pixels[i + 2] = newValue.2 }
    }

    /// Fills the rectangle at (x, y) of size w x h, clipped to the image (nothing when it
    /// lies outside).
    public mutating func fill(x: Int, y: Int, w: Int, h: Int, color: (UInt8, UInt8, UInt8)) {
        let left = max(x, 0), right = min(x + w, width), top = max(y, 0), bottom = min(y + h, height)
        guard left < right, top < bottom else { return }
        for yy in top..<bottom { for xx in left..<right { self[xx, yy] = color } }
    }

    /// The image in PNG format (W3C PNG specification): signature, IHDR (8-bit RGB), one
    /// zlib-compressed IDAT of filter-0 scanlines, IEND; every chunk with its CRC-32.
    public var png: [UInt8] {
        var raw = [UInt8]()
        raw.reserveCapacity(height * (1 + 3 * width))
        for y in 0..<height {
            raw.append(0)
            raw += pixels[(3 * y * width)..<(3 * (y + 1) * width)]
        }
        var compressedSize = compressBound(UInt(raw.count))
        var compressed = [UInt8](repeating: 0, count: Int(compressedSize))
        let status = compress2(&compressed, &compressedSize, raw, UInt(raw.count), 9)
        precondition(status == Z_OK, "zlib compress2 failed: \(status)")
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        func chunk(_ type: String, _ data: [UInt8]) {
            let body = Array(type.utf8) + data
            out += bigEndian(UInt32(data.count))
            out += body
            out += bigEndian(UInt32(body.withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count)) }))
        }
        chunk("IHDR", bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, 2, 0, 0, 0])
        chunk("IDAT", Array(compressed[..<Int(compressedSize)]))
        chunk("IEND", [])
        return out
    }

    public func write(to path: String) throws {
        try AtomicFile.write(png, to: path)
    }

    private func bigEndian(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
    }
}

/// A perceptually ordered colour scale from dark blue through green to yellow (anchors
/// of matplotlib's viridis), linearly interpolated.
public enum Viridis {
    static let anchors: [(Double, Double, Double)] = [
        (68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37),
    ]

    /// The colour of `t` in [0, 1].
    public static func color(_ t: Double) -> (UInt8, UInt8, UInt8) {
        let x = min(max(t, 0), 1) * Double(anchors.count - 1)
        let i = min(Int(x), anchors.count - 2), f = x - Double(i)
        let a = anchors[i], b = anchors[i + 1]
        return (UInt8(a.0 + (b.0 - a.0) * f), UInt8(a.1 + (b.1 - a.1) * f), UInt8(a.2 + (b.2 - a.2) * f))
    }
}
