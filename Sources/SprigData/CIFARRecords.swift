import SprigTensor
import Foundation

/// The record layout of the CIFAR-10 and CIFAR-100 binary distributions (Krizhevsky 2009,
/// "Learning multiple layers of features from tiny images"; www.cs.toronto.edu/~kriz/cifar.html):
/// each record is its label bytes (CIFAR-10: one; CIFAR-100: the coarse label, then the
/// fine one), then 3072 pixel bytes: the 1024 red values of the 32 x 32 image row by row,
/// then the 1024 green, then the 1024 blue. A file is records back to back, nothing else.
struct CIFARRecords {
    /// Pixel bytes per record: 3 channels of 32 x 32.
    static let pixelBytes = 3 * 32 * 32
    /// The shape of one image.
    static let imageShape = [3, 32, 32]

    /// Label bytes per record, and the classes of each (CIFAR-10: [10]; CIFAR-100: [20, 100]).
    let labelClasses: [Int]
    /// The names of the label bytes, for messages (`label`; `coarse label`, `fine label`).
    let labelNames: [String]
    /// Which label byte a run trains on.
    let trainedLabel: Int

    var recordBytes: Int { labelClasses.count + CIFARRecords.pixelBytes }

    /// The images and labels of the file at `path`. A size that is not a whole number of
    /// records, an empty file, or a label out of its range is an error naming the file.
    func read(_ path: String) throws -> (pixels: [UInt8], labels: [Int32]) {
        try parse(try DataFile.bytes(path, missing: "missing data file"), source: path)
    }

    /// Parses the bytes of one file; `source` names it in errors.
    func parse(_ bytes: [UInt8], source: String) throws -> (pixels: [UInt8], labels: [Int32]) {
        let size = recordBytes
        guard !bytes.isEmpty else { throw SprigError(source, "holds no records (an empty file)") }
        guard bytes.count % size == 0 else {
            throw SprigError(source, "\(bytes.count) bytes is not a whole number of \(size)-byte records "
                             + "(\(labelNames.joined(separator: " and ")) byte\(labelClasses.count > 1 ? "s" : ""), then 3072 pixel bytes): "
                             + "\(bytes.count / size) records and \(bytes.count % size) bytes over; is it truncated, or of the other CIFAR?")
        }
        let count = bytes.count / size
        var pixels = [UInt8](repeating: 0, count: count * CIFARRecords.pixelBytes)
        var labels = [Int32](repeating: 0, count: count)
        try bytes.withUnsafeBufferPointer { src in
            try pixels.withUnsafeMutableBufferPointer { dst in
                for r in 0..<count {
                    let record = src.baseAddress! + r * size
                    for (k, classes) in labelClasses.enumerated() where Int(record[k]) >= classes {
                        throw SprigError(source, "\(labelNames[k]) \(record[k]) of record \(r) is out of range 0..<\(classes)")
                    }
                    labels[r] = Int32(record[trainedLabel])
                    (dst.baseAddress! + r * CIFARRecords.pixelBytes).update(from: record + labelClasses.count, count: CIFARRecords.pixelBytes)
                }
            }
        }
        return (pixels, labels)
    }

    /// The non-empty lines of the class-names file at `path` (CIFAR's `batches.meta.txt`,
    /// `fine_label_names.txt`), nil when there is none; a file that names another number
    /// of classes than `classes` is an error.
    static func classNames(_ path: String, classes: Int) throws -> [String]? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let names = String(decoding: try DataFile.bytes(path), as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard names.count == classes else {
            throw SprigError(path, "names \(names.count) classes, expected \(classes) (one name a line)")
        }
        return names
    }
}
