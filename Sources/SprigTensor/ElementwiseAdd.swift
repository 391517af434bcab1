/// `a[i] += b[i]` for `i < count`: one float addition per element, in SIMD8 registers
/// (the same additions as the plain loop, so the same bits), then the tail one by one.
/// `a` and `b` must not overlap unless they are equal.
public func elementwiseAdd(_ a: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, count: Int) {
    let ra = UnsafeMutableRawPointer(a), rb = UnsafeRawPointer(b)
    var i = 0
    while i + 32 <= count {
        let o = i * 4
        let s0 = ra.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self) + rb.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
        let s1 = ra.loadUnaligned(fromByteOffset: o + 32, as: SIMD8<Float>.self) + rb.loadUnaligned(fromByteOffset: o + 32, as: SIMD8<Float>.self)
        let s2 = ra.loadUnaligned(fromByteOffset: o + 64, as: SIMD8<Float>.self) + rb.loadUnaligned(fromByteOffset: o + 64, as: SIMD8<Float>.self)
        let s3 = ra.loadUnaligned(fromByteOffset: o + 96, as: SIMD8<Float>.self) + rb.loadUnaligned(fromByteOffset: o + 96, as: SIMD8<Float>.self)
        ra.storeBytes(of: s0, toByteOffset: o, as: SIMD8<Float>.self)
        ra.storeBytes(of: s1, toByteOffset: o + 32, as: SIMD8<Float>.self)
        ra.storeBytes(of: s2, toByteOffset: o + 64, as: SIMD8<Float>.self)
        ra.storeBytes(of: s3, toByteOffset: o + 96, as: SIMD8<Float>.self)
        i += 32
    }
    while i + 8 <= count {
        let s = ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) + rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        ra.storeBytes(of: s, toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count {
        a[i] += b[i]
        i += 1
    }
}
