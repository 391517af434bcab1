/// What a random draw is for; part of every draw's key, so that draws for different
/// purposes never share a stream. Each library layer names its own purposes (data order
/// and augmentation in SprigData, initial weights in SprigLayers, masks in SprigSparsity)
/// with distinct raw values: 1 shuffle, 2 weight init, 3 bias init, 4 mask init, 5 drop
/// noise, 6 grow, 7 pruning set, 8 augmentation, 9 dropout.
public struct RandomPurpose: RawRepresentable, Hashable, Sendable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
}

/// A random stream that is a pure function of its key (seed, purpose, step, layer).
///
/// Every random draw in Sprig comes from a stream keyed this way, so every rank, and a
/// resumed run, draws the same numbers without carrying generator state (the RigL paper's
/// lesson on multi-worker training: replicas drift apart unless random operations are
/// stateless and seeded by (seed, step)). The key is folded into a 64-bit state with the
/// SplitMix64 finaliser, and the stream is SplitMix64 (Steele, Lea, Flood, "Fast
/// splittable pseudorandom number generators", OOPSLA 2014).
public struct StatelessRandom: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64, purpose: RandomPurpose, step: Int = 0, layer: Int = 0) {
        var s = StatelessRandom.mix(seed &+ 0x9E37_79B9_7F4A_7C15)
        s = StatelessRandom.mix(s ^ purpose.rawValue)
        s = StatelessRandom.mix(s ^ UInt64(bitPattern: Int64(step)))
        s = StatelessRandom.mix(s ^ UInt64(bitPattern: Int64(layer)) &* 0xD1B5_4A32_D192_ED03)
        state = s
    }

    /// The SplitMix64 finaliser: a bijective 64-bit mix.
    @inline(__always)
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return StatelessRandom.mix(state)
    }

    /// The stream `n` draws further on: SplitMix64's state advances by one constant per
    /// draw, so skipping ahead is one multiply. Draw i of a tensor's fill is reachable
    /// without drawing the ones before it.
    public func advanced(by n: Int) -> StatelessRandom {
        var r = self
        r.state &+= UInt64(bitPattern: Int64(n)) &* 0x9E37_79B9_7F4A_7C15
        return r
    }

    /// A uniform `Float` in [0, 1) with 24 random bits.
    @inline(__always)
    public mutating func nextUniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// A uniform `Float` in [low, high).
    @inline(__always)
    public mutating func nextUniform(_ low: Float, _ high: Float) -> Float {
        low + (high - low) * nextUniform()
    }

    /// A standard normal draw (Box-Muller on two uniform doubles).
    public mutating func nextNormal() -> Float {
        let u1 = (Double(next() >> 11) + 1) * (1.0 / 9_007_199_254_740_992.0) // (0, 1]
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }

    /// An integer uniform in `0..<bound` (Lemire's multiply-shift with rejection).
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0)
        return Int(next(upperBound: UInt64(bound)))
    }

    /// A permutation of `0..<n` (Fisher-Yates).
    public mutating func permutation(_ n: Int) -> [Int32] {
        var p = (0..<n).map { Int32($0) }
        if n > 1 {
            for i in stride(from: n - 1, to: 0, by: -1) {
                let j = nextInt(below: i + 1)
                p.swapAt(i, j)
            }
        }
        return p
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
