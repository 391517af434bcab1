import SprigTensor
import Foundation

/// An array in the IDX format of LeCun, Cortes and Burges's MNIST distribution: a 4-byte
/// magic number (two zero bytes, a type code, the number of dimensions), one big-endian
/// UInt32 per dimension, then the values in row-major order. Sprig reads unsigned bytes
/// (type 0x08), the type of MNIST and of the data sets that share its format.
public struct IDXFile {
    /// The dimensions, outermost first (for images: count, rows, columns).
    public let dimensions: [Int]
    /// The values, `dimensions.reduce(1, *)` of them.
    public let values: [UInt8]

    /// Parses IDX `bytes`; `source` names the file in errors. Every inconsistency (bad
    /// magic, wrong number of dimensions, too few or too many bytes) is an error.
    public init(bytes: [UInt8], source: String, expectedRank: Int) throws {
        guard bytes.count >= 4 else {
            throw SprigError(source, "truncated IDX file: \(bytes.count) bytes, too short for the 4-byte magic number")
        }
        guard bytes[0] == 0, bytes[1] == 0 else {
            let magic = bytes[0..<4].map { String(format: "%02x", $0) }.joined()
            throw SprigError(source, "not an IDX file: magic number 0x\(magic) does not start with two zero bytes")
        }
        guard bytes[2] == 0x08 else {
            throw SprigError(source, String(format: "IDX element type 0x%02x is not supported (Sprig reads unsigned bytes, 0x08)", bytes[2]))
        }
        let rank = Int(bytes[3])
        guard rank == expectedRank else {
            throw SprigError(source, "IDX file has \(rank) dimensions, expected \(expectedRank)")
        }
        let headerSize = 4 + 4 * rank
        guard bytes.count >= headerSize else {
            throw SprigError(source, "truncated IDX file: \(bytes.count) bytes, the header needs \(headerSize)")
        }
        var dims: [Int] = []
        for d in 0..<rank {
            let o = 4 + 4 * d
            dims.append(Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3]))
        }
        let (expected, overflow) = dims.reduce((1, false)) { acc, d in
            let (p, o) = acc.0.multipliedReportingOverflow(by: d)
            return (p, acc.1 || o)
        }
        guard !overflow, expected <= Int(Int32.max) else {
            throw SprigError(source, "IDX dimensions \(dims) are too large")
        }
        let actual = bytes.count - headerSize
        guard actual == expected else {
            let what = actual < expected ? "truncated IDX file" : "IDX file has trailing data"
            throw SprigError(source, "\(what): dimensions \(dims) need \(expected) bytes of data, found \(actual)")
        }
        dimensions = dims
        values = Array(bytes[headerSize...])
    }

    /// Reads and parses the IDX file at `path`, gunzipping it first when it is gzipped.
    public init(path: String, expectedRank: Int) throws {
        var bytes = try DataFile.bytes(path)
        if Gzip.isCompressed(bytes) {
            bytes = try Gzip.decompress(bytes, source: path)
        }
        try self.init(bytes: bytes, source: path, expectedRank: expectedRank)
    }
}
