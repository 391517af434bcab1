import Zlib

extension Dataset {
    /// CRC-32s (zlib's) of the examples' values as Sprig holds them (example after example,
    /// each in (C, H, W) order; bytes as they are, floats as little-endian float32) and of
    /// the labels as little-endian int32: what `sprig data` prints, so that a copy of the
    /// data written elsewhere (NumPy: `zlib.crc32(x.tobytes())`) can be checked value for
    /// value.
    public var digest: (values: UInt32, labels: UInt32) {
        func crc(_ raw: UnsafeRawBufferPointer) -> UInt32 {
            // zlib takes at most 4 GB a call
            var c: UInt = 0
            var start = 0
            while start < raw.count {
                let n = min(raw.count - start, 1 << 30)
                c = crc32(c, raw.baseAddress!.assumingMemoryBound(to: UInt8.self) + start, UInt32(n))
                start += n
            }
            return UInt32(c)
        }
        let labelDigest = labels.map { $0.littleEndian }.withUnsafeBytes(crc)
        switch values {
        case .uint8(let v): return (v.withUnsafeBytes(crc), labelDigest)
        case .float32(let v): return (v.map { $0.bitPattern.littleEndian }.withUnsafeBytes(crc), labelDigest)
        }
    }
}
