import Foundation
import ZIPFoundation
@testable import SprigData
@testable import SprigTensor

/// Writers of the data formats Sprig reads, in their exact layouts, for the reader tests.

/// CIFAR records: per example its label bytes, then its 3 x 32 x 32 pixel bytes.
func cifarBytes(labels: [[UInt8]], pixels: [UInt8]) -> [UInt8] {
    precondition(pixels.count == labels.count * 3072)
    var out: [UInt8] = []
    for (i, l) in labels.enumerated() { out += l + pixels[(i * 3072)..<((i + 1) * 3072)] }
    return out
}

/// `n` distinct images of 3 x 32 x 32 bytes, a function of (seed, example, position).
func cifarPixels(_ n: Int, seed: Int) -> [UInt8] {
    (0..<(n * 3072)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed &* 7 &+ $0 / 3072 &* 13) }
}

/// A `.npy` array (format 1.0, or 2.0 with `version2`): header dict padded with spaces to a
/// multiple of 64 bytes, ending in a newline, then `data` as given.
func npyBytes(descr: String, shape: [Int], data: [UInt8], fortran: Bool = false, version2: Bool = false) -> [UInt8] {
    let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
    var header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': (\(dims)), }"
    let prefix = version2 ? 12 : 10
    while (prefix + header.utf8.count + 1) % 64 != 0 { header += " " }
    header += "\n"
    let length = header.utf8.count
    var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version2 ? 2 : 1, 0]
    out += version2 ? [UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), 0, 0] : [UInt8(length & 0xFF), UInt8(length >> 8)]
    return out + Array(header.utf8) + data
}

/// Little-endian bytes of `values`.
func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
}

func floatBytes(_ values: [Float]) -> [UInt8] { littleEndianBytes(values.map(\.bitPattern)) }

/// An `.npz` archive of `arrays` (member `NAME.npy` each), stored or deflated.
func writeNPZ(_ path: String, _ arrays: [(String, [UInt8])], compressed: Bool = false) throws {
    try? FileManager.default.removeItem(atPath: path)
    let archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .create)
    for (name, bytes) in arrays {
        let data = Data(bytes)
        try archive.addEntry(with: name + ".npy", type: .file, uncompressedSize: Int64(data.count),
                             compressionMethod: compressed ? .deflate : .none) { position, size in
            data.subdata(in: Int(position)..<(Int(position) + size))
        }
    }
}

/// The bytes of an `.npz` archive of `arrays`, written through a temporary file.
func npzBytes(_ arrays: [(String, [UInt8])], compressed: Bool = false) throws -> [UInt8] {
    let dir = TemporaryDirectory()
    try writeNPZ(dir.file("a.npz"), arrays, compressed: compressed)
    return [UInt8](FileManager.default.contents(atPath: dir.file("a.npz"))!)
}

/// `train.npz` and `test.npz` in `dir` with the examples and labels of `data`'s sets, x
/// uint8 of shape N x C x H x W (or N x F) and y int64.
func writeNPZ(in dir: TemporaryDirectory, from data: DataSplits) throws {
    for (name, set) in [("train", data.train), ("test", data.test)] {
        let x = npyBytes(descr: "|u1", shape: [set.count] + set.exampleShape, data: set.pixels!)
        let y = npyBytes(descr: "<i8", shape: [set.count], data: littleEndianBytes(set.labels.map(Int64.init)))
        try writeNPZ(dir.file("\(name).npz"), [("x", x), ("y", y)])
    }
}
