import SprigTensor

/// An array in NumPy's `.npy` format (numpy.lib.format, versions 1.0, 2.0 and 3.0): the
/// magic `\x93NUMPY`, the major and minor version bytes, the header's length (2 bytes
/// little-endian in 1.0, 4 in 2.0 and 3.0), the header, a Python dict literal such as
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (60000, 784), }`, then the values.
/// Values in Fortran order are put in C (row-major) order as they are read.
public struct NumPyArray {
    /// The element types Sprig reads: booleans and integers of 1 to 8 bytes, and floats
    /// of 4 and 8 bytes, in either byte order.
    public enum Kind: Character, Sendable { case bool = "b", signed = "i", unsigned = "u", float = "f" }

    public let shape: [Int]
    public let kind: Kind
    /// Bytes per value.
    public let itemSize: Int
    /// The `descr` as written (`<f4`), for messages.
    public let descr: String
    /// The values' bytes in C order, little-endian.
    public let data: [UInt8]

    public var count: Int { shape.reduce(1, *) }
    /// The NumPy name of the element type (`uint8`, `float32`).
    public var typeName: String {
        switch kind {
        case .bool: return "bool"
        case .signed: return "int\(8 * itemSize)"
        case .unsigned: return "uint\(8 * itemSize)"
        case .float: return "float\(8 * itemSize)"
        }
    }

    /// Parses `.npy` bytes; `source` names the file (and the array) in errors.
    public init(bytes: [UInt8], source: String) throws {
        func fail(_ message: String) -> SprigError { SprigError(source, message) }
        let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw fail("not a NumPy .npy array (no \\x93NUMPY magic)")
        }
        let major = bytes[6]
        guard (1...3).contains(major) else { throw fail("NumPy format version \(major).\(bytes[7]) is not supported (1.0 to 3.0 are)") }
        let lengthBytes = major == 1 ? 2 : 4
        guard bytes.count >= 8 + lengthBytes else { throw fail("truncated .npy header") }
        let headerLength = (0..<lengthBytes).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
        let start = 8 + lengthBytes
        guard bytes.count >= start + headerLength else {
            throw fail("truncated .npy header: it says \(headerLength) bytes, \(bytes.count - start) follow")
        }
        let header = try NumPyHeader(text: String(decoding: bytes[start..<(start + headerLength)], as: UTF8.self), fail: fail)
        let descr = header.descr
        guard descr.count >= 3, let order = descr.first, "<>|=".contains(order), let kind = Kind(rawValue: descr[descr.index(after: descr.startIndex)]),
              let size = Int(descr.dropFirst(2)), [1, 2, 4, 8].contains(size), kind != .float || size >= 4, kind != .bool || size == 1 else {
            throw fail("element type '\(descr)' is not supported (Sprig reads booleans, integers and floats of 4 or 8 bytes)")
        }
        var count = 1
        for d in header.shape {
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, d >= 0, p <= Int(Int32.max) * 8 else { throw fail("shape \(header.shape) is too large") }
            count = p
        }
        let body = bytes.count - start - headerLength
        guard body == count * size else {
            let what = body < count * size ? "truncated array" : "trailing data after the array"
            throw fail("\(what): shape \(header.shape) of \(descr) needs \(count * size) bytes, found \(body)")
        }
        var values = Array(bytes[(start + headerLength)...])
        if order == ">" && size > 1 {
            for i in 0..<count { values[(i * size)..<((i + 1) * size)].reverse() }
        }
        if header.fortranOrder && header.shape.count > 1 {
            values = NumPyArray.cOrder(values, shape: header.shape, itemSize: size)
        }
        shape = header.shape
        self.kind = kind
        itemSize = size
        self.descr = descr
        data = values
    }

    /// Column-major (Fortran) values in row-major order: the value at multi-index
    /// (i_0, ..., i_k) is at `i_0 + n_0 (i_1 + n_1 (...))` in the input.
    static func cOrder(_ values: [UInt8], shape: [Int], itemSize: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: values.count)
        let count = shape.reduce(1, *)
        var strides = [Int](repeating: 1, count: shape.count) // Fortran strides, in values
        for d in 1..<shape.count { strides[d] = strides[d - 1] * shape[d - 1] }
        var index = [Int](repeating: 0, count: shape.count)
        for i in 0..<count {
            var source = 0
            for d in 0..<shape.count { source += index[d] * strides[d] }
            for b in 0..<itemSize { out[i * itemSize + b] = values[source * itemSize + b] }
            var d = shape.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < shape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        return out
    }

    /// The values as integers (bool and integer types), nil for floats.
    public func integers() -> [Int64]? {
        guard kind != .float else { return nil }
        return data.withUnsafeBytes { raw in
            (0..<count).map { i -> Int64 in
                let p = raw.baseAddress! + i * itemSize
                switch (kind, itemSize) {
                case (.signed, 1): return Int64(p.loadUnaligned(as: Int8.self))
                case (.signed, 2): return Int64(Int16(littleEndian: p.loadUnaligned(as: Int16.self)))
                case (.signed, 4): return Int64(Int32(littleEndian: p.loadUnaligned(as: Int32.self)))
                case (.signed, _): return Int64(littleEndian: p.loadUnaligned(as: Int64.self))
                case (_, 1): return Int64(p.load(as: UInt8.self))
                case (_, 2): return Int64(UInt16(littleEndian: p.loadUnaligned(as: UInt16.self)))
                case (_, 4): return Int64(UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
                default:
                    let v = UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))
                    return v > UInt64(Int64.max) ? Int64.max : Int64(v)
                }
            }
        }
    }

    /// The first float value that is not finite or exceeds `limit` in magnitude, read at its
    /// own precision (a float64 beyond float32's range is found as it is), with its index.
    public func firstFloat(beyond limit: Double) -> (index: Int, value: Double)? {
        guard kind == .float else { return nil }
        return data.withUnsafeBytes { raw -> (Int, Double)? in
            for i in 0..<count {
                let p = raw.baseAddress! + i * itemSize
                let v = itemSize == 4 ? Double(Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(as: UInt32.self))))
                    : Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)))
                if !(abs(v) <= limit) { return (i, v) }
            }
            return nil
        }
    }

    /// The values as 32-bit floats (float64 rounded to nearest), nil for other types.
    public func floats() -> [Float]? {
        guard kind == .float else { return nil }
        if itemSize == 4 { // little-endian already: the bytes are the floats
            return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                data.withUnsafeBytes { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: $0) }
                initialized = count
            }
        }
        return data.withUnsafeBytes { raw in
            (0..<count).map { i -> Float in
                let p = raw.baseAddress! + i * itemSize
                return Float(Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))))
            }
        }
    }
}
