import SprigTensor
import Foundation

/// A named tensor: float32 values (`F32`), or 64-bit integers (`I64`, the index parts of a
/// sparse CSR weight, see `CSRTensors`).
public struct NamedTensor: Equatable {
    /// The element types Sprig writes and reads.
    public enum DType: String, Equatable {
        case f32 = "F32", i64 = "I64"
        public var byteWidth: Int { self == .f32 ? 4 : 8 }
    }

    public var name: String
    public var shape: [Int]
    public var dtype: DType
    /// The values of an `F32` tensor (empty for an integer tensor).
    public var values: [Float]
    /// The values of an `I64` tensor (empty for a float tensor).
    public var integers: [Int64]

    public init(name: String, shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "tensor \(name): shape \(shape) does not hold \(values.count) values")
        self.name = name
        self.shape = shape
        self.dtype = .f32
        self.values = values
        self.integers = []
    }

    public init(name: String, shape: [Int], integers: [Int64]) {
        precondition(shape.reduce(1, *) == integers.count, "tensor \(name): shape \(shape) does not hold \(integers.count) values")
        self.name = name
        self.shape = shape
        self.dtype = .i64
        self.values = []
        self.integers = integers
    }

    /// Elements of the tensor.
    public var count: Int { dtype == .f32 ? values.count : integers.count }
}

/// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON
/// header mapping each tensor name to `{dtype, shape, data_offsets}` (offsets relative to
/// the data section) plus string `__metadata__`, then the tensors' bytes. Sprig writes and
/// reads float32 (`F32`) and int64 (`I64`) tensors, little-endian; any other dtype is an
/// error naming the file.
public enum Safetensors {
    /// Encodes `tensors` in order, with `metadata`.
    public static func encode(_ tensors: [NamedTensor], metadata: [String: String] = [:]) -> [UInt8] {
        var entries: [String] = []
        if !metadata.isEmpty {
            let meta = metadata.keys.sorted().map { "\(JSONLine.quote($0)): \(JSONLine.quote(metadata[$0]!))" }
            entries.append("\"__metadata__\": {" + meta.joined(separator: ", ") + "}")
        }
        var offset = 0
        for t in tensors {
            let size = t.count * t.dtype.byteWidth
            entries.append("\(JSONLine.quote(t.name)): {\"dtype\": \"\(t.dtype.rawValue)\", \"shape\": [\(t.shape.map(String.init).joined(separator: ", "))], \"data_offsets\": [\(offset), \(offset + size)]}")
            offset += size
        }
        var header = Array(("{" + entries.joined(separator: ", ") + "}").utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        for t in tensors {
            for v in t.values { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
            for v in t.integers { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        }
        return out
    }

    /// Writes `tensors` to `path` atomically.
    public static func write(_ tensors: [NamedTensor], metadata: [String: String] = [:], to path: String) throws {
        try AtomicFile.write(encode(tensors, metadata: metadata), to: path)
    }

    /// Decodes a safetensors file's bytes; `source` names it in errors. Tensors come back in
    /// the order of their data offsets.
    public static func decode(_ bytes: [UInt8], source: String) throws -> (tensors: [NamedTensor], metadata: [String: String]) {
        guard bytes.count >= 8 else { throw SprigError(source, "truncated safetensors file: no header length") }
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        // The header is JSON: it opens with '{'. A text file or another format does not.
        guard bytes.count == 8 || bytes[8] == UInt8(ascii: "{") else {
            throw SprigError(source, "not a safetensors file (no JSON header after the 8-byte header length)")
        }
        guard length <= UInt64(bytes.count - 8), length <= 100_000_000 else {
            throw SprigError(source, "truncated safetensors file: header of \(length) bytes, file of \(bytes.count)")
        }
        let headerEnd = 8 + Int(length)
        guard let json = try? JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd])),
              let header = json as? [String: Any] else {
            throw SprigError(source, "safetensors header is not a JSON object")
        }
        let dataSize = bytes.count - headerEnd
        var metadata: [String: String] = [:]
        var tensors: [(Int, NamedTensor)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: String] else { throw SprigError(source, "__metadata__ must map strings to strings") }
                metadata = m
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
                throw SprigError(source, "tensor '\(name)': malformed header entry")
            }
            guard let type = NamedTensor.DType(rawValue: dtype) else {
                throw SprigError(source, "tensor '\(name)': dtype \(dtype) is not supported (F32 and I64 only)")
            }
            guard shape.allSatisfy({ $0 >= 0 && $0 <= 1 << 31 }) else { throw SprigError(source, "tensor '\(name)': bad shape \(shape)") }
            // The dimensions are untrusted: a product that overflows is a bad shape, not a trap.
            var count = 1, overflow = false
            for d in shape where !overflow { (count, overflow) = count.multipliedReportingOverflow(by: d) }
            let byteCount = count.multipliedReportingOverflow(by: type.byteWidth)
            guard !overflow, !byteCount.overflow else { throw SprigError(source, "tensor '\(name)': shape \(shape) is too large") }
            guard offsets[0] >= 0, offsets[1] >= offsets[0], offsets[1] <= dataSize, offsets[1] - offsets[0] == byteCount.partialValue else {
                throw SprigError(source, "tensor '\(name)': data offsets \(offsets) do not fit shape \(shape) in \(dataSize) bytes of data")
            }
            let start = headerEnd + offsets[0]
            func word(_ i: Int, _ width: Int) -> UInt64 {
                var bits: UInt64 = 0
                for b in 0..<width { bits |= UInt64(bytes[start + width * i + b]) << (8 * UInt64(b)) }
                return bits
            }
            let tensor = type == .f32
                ? NamedTensor(name: name, shape: shape, values: (0..<count).map { Float(bitPattern: UInt32(word($0, 4))) })
                : NamedTensor(name: name, shape: shape, integers: (0..<count).map { Int64(bitPattern: word($0, 8)) })
            tensors.append((offsets[0], tensor))
        }
        return (tensors.sorted { $0.0 < $1.0 }.map(\.1), metadata)
    }

    /// Reads the safetensors file at `path`.
    public static func read(path: String) throws -> (tensors: [NamedTensor], metadata: [String: String]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SprigError(path, FileManager.default.fileExists(atPath: path) ? "cannot read file" : "no such file")
        }
        return try decode([UInt8](data), source: path)
    }
}
